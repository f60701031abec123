/**
 * get_url against the loopback OpenSSH server, through the converge cycle: a sha512 checksum read
 * from a checksum file (file:// URLs under the test's temp directory), the download put in place,
 * a second run that fetches nothing, a tampered file found by --check --diff and fixed.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { convergeCycle } from '../../helpers/converge-cycle.ts';
import { loopbackSuite } from '../../helpers/loopback-suite.ts';

describe('get_url over ssh: checksum files and algorithms', () => {
  const suite = loopbackSuite('mod-get-url');

  it('converges from a SHA512SUMS file, changes nothing again, finds a tampered file and fixes it', async () => {
    const { dir } = suite;
    const payload = 'node_exporter 1.5.0\n';
    writeFileSync(join(dir, 'ne.tar.gz'), payload);
    const sum = createHash('sha512').update(payload).digest('hex');
    writeFileSync(join(dir, 'SHA512SUMS'), `${'0'.repeat(128)}  other.tar.gz\n${sum} *ne.tar.gz\n`);
    const dest = join(dir, 'installed.tar.gz');
    const inventory = suite.inventory();
    const playbook = suite.playbook([
      '- get_url:',
      `    url: file://${dir}/ne.tar.gz`,
      `    dest: ${dest}`,
      `    checksum: sha512:file://${dir}/SHA512SUMS`,
      '    mode: "0640"',
    ]);
    const r = await convergeCycle({
      playbook,
      inventory,
      verify: () => expect(readFileSync(dest, 'utf8')).toBe(payload),
      tamper: () => writeFileSync(dest, 'tampered\n'),
    });
    const drift = r.check.tasks.find((t) => t.status === 'changed')!;
    expect(drift.changes.map((c) => c.summary).join('\n')).toMatch(/sha512 on the host [0-9a-f]{12}… ≠ wanted/);
  });
});
