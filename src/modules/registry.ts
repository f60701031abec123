/** All modules by name. A module is one file; add it here to make it available to playbooks. */
import command from './command.ts';
import copy from './copy.ts';
import file from './file.ts';
import firewall from './firewall.ts';
import getUrl from './get_url.ts';
import group from './group.ts';
import lineinfile from './lineinfile.ts';
import mysqlDb from './mysql_db.ts';
import mysqlReplication from './mysql_replication.ts';
import mysqlUser from './mysql_user.ts';
import mysqlVariables from './mysql_variables.ts';
import pkg from './package.ts';
import release from './release.ts';
import service from './service.ts';
import shellModule from './shell-module.ts';
import sysctl from './sysctl.ts';
import user from './user.ts';
import template from './template.ts';
import tlsCert from './tls_cert.ts';
import type { ModuleDef } from './types.ts';

const all: ModuleDef[] = [file, copy, template, pkg, service, command, shellModule, user, group, sysctl, lineinfile, getUrl, tlsCert, firewall, release, mysqlDb, mysqlUser, mysqlReplication, mysqlVariables];

export const modules: ReadonlyMap<string, ModuleDef> = new Map(all.map((m) => [m.name, m]));

export function getModule(name: string): ModuleDef | undefined {
  return modules.get(name);
}

/** Ansible names that map onto Kiln modules, so existing habits keep working. */
export const moduleAliases: Record<string, string> = {
  apt: 'package',
  systemd: 'service',
  systemd_service: 'service',
};
