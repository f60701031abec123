/**
 * The inventories each tool runs with, for a set of bench hosts: Kiln's YAML (user deploy, become,
 * the lab's key and known_hosts) and Ansible's INI (the same, host keys checked strictly), written
 * to bench/.work.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { hostAddr, hostName } from './addresses.ts';
import { LAB_DIR, WORK } from './paths.ts';

export function kilnInventoryText(indices: readonly number[], labDir: string = LAB_DIR): string {
  const hosts = indices.map((i) => `    ${hostName(i)}: { address: ${hostAddr(i)} }`).join('\n');
  return `all:\n  vars:\n    user: deploy\n    become: true\n    identity_file: ${path.join(labDir, 'id_ed25519')}\n    known_hosts: ${path.join(labDir, 'known_hosts')}\n  hosts:\n${hosts}\n`;
}

export function ansibleInventoryText(indices: readonly number[], labDir: string = LAB_DIR): string {
  const lines = [
    '[bench]',
    ...indices.map((i) => `${hostName(i)} ansible_host=${hostAddr(i)}`),
    '',
    '[all:vars]',
    'ansible_user=deploy',
    `ansible_ssh_private_key_file=${path.join(labDir, 'id_ed25519')}`,
    `ansible_ssh_common_args='-o UserKnownHostsFile=${path.join(labDir, 'known_hosts')} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'`,
    '',
  ];
  return lines.join('\n');
}

/** Writes bench/.work/kiln-TAG.yml; returns its path. */
export function kilnInventory(indices: readonly number[], tag: string): string {
  const f = path.join(WORK, `kiln-${tag}.yml`);
  writeFileSync(f, kilnInventoryText(indices));
  return f;
}

/** Writes bench/.work/ansible-TAG.ini; returns its path. */
export function ansibleInventory(indices: readonly number[], tag: string): string {
  const f = path.join(WORK, `ansible-${tag}.ini`);
  writeFileSync(f, ansibleInventoryText(indices));
  return f;
}
