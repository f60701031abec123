import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { loadInventory } from '../../../../src/input/inventory/load.ts';
import { hostVarsOf, inventoryVarLayers } from '../../../../src/input/inventory/layers.ts';
import { renderHostVars, renderInventoryList } from '../../../../src/input/inventory/render.ts';
import { resolveConnection } from '../../../../src/transport/ssh/resolve.ts';
import { isSecret } from '../../../../src/core/secret/secret.ts';
import { encryptVault } from '../../../../src/core/secret/vault.ts';
import { parseYaml } from '../../../../src/input/yaml/document.ts';
import { tmpTree } from './helpers.ts';

describe('vault-encrypted group_vars', () => {
  const vault = { vaultPassword: 'correct horse' };

  const make = () =>
    tmpTree({
      'inventory.yml': 'all:\n  children:\n    web:\n      hosts:\n        web1: { address: 10.0.0.1 }\n',
      'group_vars/web.yml': encryptVault('db_password: s3cr3t-db-pw\nbecome_password: s3cr3t-sudo-pw\napi_port: 8443\n', 'correct horse'),
    });

  it('decrypts the file; its strings are Secrets, other types keep their type', () => {
    const inv = loadInventory(join(make(), 'inventory.yml'), vault).inventory;
    const v = hostVarsOf(inv, 'web1');
    expect(isSecret(v.db_password)).toBe(true);
    expect((v.db_password as { reveal(): string }).reveal()).toBe('s3cr3t-db-pw');
    expect(v.api_port).toBe(8443);
    const conn = resolveConnection('web1', v, { inventoryDir: inv.dir });
    expect(conn.becomePassword?.reveal()).toBe('s3cr3t-sudo-pw');
  });

  it('never reveals the values in renderHostVars or renderInventoryList', () => {
    const inv = loadInventory(join(make(), 'inventory.yml'), vault).inventory;
    const out = renderHostVars(inventoryVarLayers(inv, 'web1'));
    expect(out).toMatch(/db_password\s+\*{8}\s+group_vars\/web\.yml/);
    expect(out).toMatch(/become_password\s+\*{8}\s+group_vars\/web\.yml/);
    expect(out).not.toContain('s3cr3t');
    expect(renderInventoryList(inv)).not.toContain('s3cr3t');
  });

  it('a wrong vault password is a located error', () => {
    expect(() => loadInventory(join(make(), 'inventory.yml'), { vaultPassword: 'wrong' })).toThrow(
      /group_vars\/web\.yml:1:1: vault decryption failed/,
    );
  });

  it('the password belongs to the load that is given it (no process-wide password)', () => {
    const dir = make();
    expect(() => loadInventory(join(dir, 'inventory.yml'))).toThrow(
      /group_vars\/web\.yml:1:1: vault-encrypted data found but no vault password given/,
    );
    expect(hostVarsOf(loadInventory(join(dir, 'inventory.yml'), vault).inventory, 'web1').api_port).toBe(8443);
    expect(() => loadInventory(join(dir, 'inventory.yml'))).toThrow(/no vault password given/);
  });

  it('an inline !vault value is decrypted with the password of its load', () => {
    const enc = encryptVault('inline-s3cr3t', 'correct horse')
      .trimEnd()
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n');
    const y = parseYaml('inline.yml', `pw: !vault |\n${enc}\n`, vault).result!;
    expect((y.value as { pw: { reveal(): string } }).pw.reveal()).toBe('inline-s3cr3t');
    expect(parseYaml('inline.yml', `pw: !vault |\n${enc}\n`).errors[0]!.message).toMatch(/no vault password given/);
  });

  it('a vault file whose plaintext is not UTF-8 is refused at the file, never decoded loosely', () => {
    const dir = tmpTree({
      'inventory.yml': 'all:\n  hosts:\n    web1: { address: 10.0.0.1 }\n',
      'group_vars/all.yml': encryptVault(Buffer.from([0x70, 0x77, 0x3a, 0x20, 0x63, 0x61, 0xff, 0x66, 0x65, 0x0a]), 'correct horse'),
    });
    let msg = '';
    try {
      loadInventory(join(dir, 'inventory.yml'), vault);
    } catch (err) {
      msg = String(err);
    }
    expect(msg).toMatch(
      /group_vars\/all\.yml:1:1: the decrypted vault data is not valid UTF-8 \(first bad byte at offset 6 of the plaintext\)/,
    );
    expect(msg).not.toContain('\ufffd');
  });

  it('an inline !vault value whose plaintext is not UTF-8 is refused at the value', () => {
    const enc = encryptVault(Buffer.from([0x61, 0xc3, 0x28]), 'correct horse')
      .trimEnd()
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n');
    const { result, errors } = parseYaml('inline.yml', `a: 1\npw: !vault |\n${enc}\n`, vault);
    expect(result).toBeUndefined();
    expect(errors[0]).toMatchObject({ file: 'inline.yml', line: 2, col: 5 });
    expect(errors[0]!.message).toMatch(/not valid UTF-8 \(first bad byte at offset 1 of the plaintext\)/);
  });
});
