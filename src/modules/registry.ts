/** All modules by name. A module is one file; add it here to make it available to playbooks. */
import command from './system/command.ts';
import copy from './files/copy.ts';
import file from './files/file.ts';
import firewall from './firewall/firewall.ts';
import getUrl from './files/get_url.ts';
import group from './system/group.ts';
import lineinfile from './files/lineinfile.ts';
import mysqlDb from './mysql/mysql_db.ts';
import mysqlReplication from './mysql/mysql_replication.ts';
import mysqlReplica from './mysql/mysql_replica.ts';
import mysqlUser from './mysql/mysql_user.ts';
import mysqlVariables from './mysql/mysql_variables.ts';
// issue 19: switchover and failover
import mysqlFence from './mysql/mysql_fence.ts';
import mysqlPromote from './mysql/mysql_promote.ts';
import mysqlTopology from './mysql/mysql_topology.ts';
import pkg from './system/package.ts';
import release from './release/release.ts';
import service from './system/service.ts';
import shellModule from './system/shell.ts';
import setup from './system/facts/setup.ts';
import sysctl from './files/sysctl.ts';
import user from './system/user.ts';
import template from './files/template.ts';
import tlsCert from './tls/tls_cert.ts';
import setFact from './controller/set_fact.ts';
import assertAction from './controller/assert.ts';
import failAction from './controller/fail.ts';
import debug from './controller/debug.ts';
import pause from './controller/pause.ts';
import addHost from './controller/add_host.ts';
import groupBy from './controller/group_by.ts';
import includeVars from './controller/include_vars.ts';
import meta from './controller/meta.ts';
import includeTasks from './controller/include_tasks.ts';
import include from './controller/include.ts';
import includeRole from './controller/include_role.ts';
import foreign from './system/foreign.ts';
// issue 17 (A): blockinfile, replace, ini_file, pam_limits; file/copy options
import blockinfile from './files/blockinfile.ts';
import replace from './files/replace.ts';
import iniFile from './files/ini_file.ts';
import pamLimits from './files/pam_limits.ts';

// issue 17 (B): stat, find, slurp, fetch, getent
import stat from './inspect/stat.ts';
import slurp from './inspect/slurp.ts';
import getent from './inspect/getent.ts';
import fetchModule from './inspect/fetch.ts';
import find from './inspect/find.ts';

// issue 17 (C): uri, wait_for, unarchive
import waitFor from './net/wait_for.ts';
import uri from './net/uri.ts';
import unarchive from './files/unarchive.ts';

// issue 17 (D): apt_repository, deb822_repository, apt_key, debconf, package_facts; apt options
import aptRepository from './apt/apt_repository.ts';
import debconf from './apt/debconf.ts';
import deb822Repository from './apt/deb822_repository.ts';
import packageFacts from './apt/package_facts.ts';

// issue 17 (E): hostname, timezone, locale_gen, alternatives, modprobe, openssh_keypair
import alternatives from './system/alternatives.ts';
import hostname from './system/hostname.ts';
import localeGen from './system/locale_gen.ts';
import modprobe from './system/modprobe.ts';
import opensshKeypair from './system/openssh_keypair.ts';
import timezone from './system/timezone.ts';

// issue 17 (F): cron, authorized_key, mount, reboot
import cron from './system/cron.ts';
import authorizedKey from './system/authorized_key.ts';
import mount from './system/mount.ts';
import reboot from './system/reboot.ts';

// issue 17 (G): ufw, iptables, service_facts; systemd options
import serviceFacts from './system/service_facts.ts';
import iptables from './firewall/iptables.ts';
import ufw from './firewall/ufw.ts';

// stop 27 (P): postgresql_user, postgresql_db, postgresql_privs
import postgresqlDb from './postgres/postgresql_db.ts';
import postgresqlPrivs from './postgres/postgresql_privs.ts';
import postgresqlUser from './postgres/postgresql_user.ts';

// stop 27 (S): snap
import snap from './system/snap.ts';

// issue 17 (H): git, pip, mysql_query, mysql_info; mysql options
import git from './dev/git.ts';
import pip from './dev/pip.ts';
import mysqlQuery from './mysql/mysql_query.ts';
import mysqlInfo from './mysql/mysql_info.ts';

import type { ModuleArgsSpec, ModuleCatalog } from '../input/playbook/types.ts';
import type { BoundModule } from './contract.ts';
import { ANSIBLE_MODULE_NAMES, ansibleArgsSpec, ansibleModuleAliases } from './ansible/mapping.ts';

const all: BoundModule[] = [
  file,
  copy,
  template,
  pkg,
  service,
  command,
  shellModule,
  user,
  group,
  sysctl,
  lineinfile,
  getUrl,
  tlsCert,
  firewall,
  release,
  mysqlDb,
  mysqlUser,
  mysqlReplication,
  mysqlReplica,
  mysqlVariables,
  mysqlFence,
  mysqlPromote,
  mysqlTopology,
  // Controller-side actions (src/modules/controller/): no probe, no round trip.
  setFact,
  assertAction,
  failAction,
  debug,
  pause,
  addHost,
  groupBy,
  includeVars,
  meta,
  includeTasks,
  include,
  includeRole,
  setup,
  // issue 17 (A)
  blockinfile,
  replace,
  iniFile,
  pamLimits,

  // issue 17 (B)
  stat,
  slurp,
  getent,
  fetchModule,
  find,

  // issue 17 (C)
  waitFor,
  uri,
  unarchive,

  // issue 17 (D)
  aptRepository,
  debconf,
  deb822Repository,
  packageFacts,

  // issue 17 (E)
  hostname,
  timezone,
  localeGen,
  alternatives,
  modprobe,
  opensshKeypair,

  // issue 17 (F)
  cron,
  authorizedKey,
  mount,
  reboot,

  // issue 17 (G)
  serviceFacts,
  iptables,
  ufw,

  // stop 27 (P)
  postgresqlUser,
  postgresqlDb,
  postgresqlPrivs,

  // stop 27 (S)
  snap,

  // issue 17 (H)
  git,
  pip,
  mysqlQuery,
  mysqlInfo,
];

export const modules: ReadonlyMap<string, BoundModule> = new Map(all.map((m) => [m.name, m]));

/** Modules only the loader makes tasks of (a playbook cannot name them; `kiln modules` does not list them). */
const internal: ReadonlyMap<string, BoundModule> = new Map([foreign].map((m) => [m.name, m]));

export function getModule(name: string): BoundModule | undefined {
  return modules.get(name) ?? internal.get(name);
}

/** Ansible's names (short and FQCN: `apt`, `ansible.builtin.file`) of the modules Kiln runs with its own (ansible/mapping.ts). */
export const moduleAliases: Readonly<Record<string, string>> = ansibleModuleAliases;

const KILN_ONLY: ModuleArgsSpec = { rename: {}, refused: {}, types: {} };

/** What the playbook loader needs to know of the modules. */
export const moduleCatalog: ModuleCatalog = {
  get names() {
    return [...modules.keys()];
  },
  aliases: moduleAliases,
  args(taskKey: string): ModuleArgsSpec | undefined {
    const fqcn = ANSIBLE_MODULE_NAMES[taskKey];
    if (fqcn) return ansibleArgsSpec(fqcn);
    return modules.has(taskKey) ? KILN_ONLY : undefined;
  },
};
