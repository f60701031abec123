/**
 * stat, slurp, getent and find against the loopback OpenSSH server. They never change the host, so the
 * converge cycle runs them feeding a copy task: a drift of the file they inspect shows, through
 * their registered results and facts, as the copy's --check --diff, and nothing else changes.
 * A second playbook registers their results as Ansible would and they are compared with the
 * Ansible oracle (test/fixtures/inspect/oracle.json), key by key and type by type.
 * Only files under the test's own temp directory are touched (read-only: getent passwd root).
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { convergeCycle } from '../../helpers/converge-cycle.ts';
import { runPlaybook } from '../../helpers/run-playbook.ts';
import { loopbackSuite } from '../../helpers/loopback-suite.ts';
import { oracle, oracleResult } from '../../unit/modules/inspect/oracle.ts';

describe('stat, slurp, getent, find over ssh', () => {
  const suite = loopbackSuite('mod-inspect');

  it('register + when on x.stat.exists, slurp | b64decode and the getent_passwd fact drive a copy through the converge cycle', async () => {
    const { dir } = suite;
    const conf = join(dir, 'app.conf');
    const report = join(dir, 'report.txt');
    writeFileSync(conf, 'port=80\n');
    const inventory = suite.inventory();
    const playbook = join(dir, 'pb.yml');
    writeFileSync(
      playbook,
      `- hosts: all
  gather_facts: false
  tasks:
    - stat: { path: ${conf}, checksum_algorithm: sha256 }
      register: st
    - stat: { path: ${join(dir, 'missing')} }
      register: gone
    - slurp: { src: ${conf} }
      register: sl
    - getent: { database: passwd, key: root }
    - find: { paths: ${dir}, patterns: '*.conf', get_checksum: true }
      register: found
    - copy:
        dest: ${report}
        content: |
          exists={{ st.stat.exists }} isreg={{ st.stat.isreg }} mode={{ st.stat.mode }} size={{ st.stat.size }}
          sha256={{ st.stat.checksum }}
          content={{ sl.content | b64decode }}
          root_home={{ getent_passwd.root[4] }} uid={{ ansible_facts.getent_passwd.root[1] }}
          found={{ found.matched }} {{ found.files | map(attribute='path') | sort | join(',') }}
      when: st.stat.exists and not gone.stat.exists
`,
    );
    let found = `1 ${conf}`;
    const expected = (content: string, sha: string) =>
      `exists=True isreg=True mode=0644 size=${content.length}\nsha256=${sha}\ncontent=${content}\nroot_home=/root uid=0\nfound=${found}\n`;
    const sha = (s: string) => createHash('sha256').update(s).digest('hex');
    let want = expected('port=80\n', sha('port=80\n'));
    const r = await convergeCycle({
      playbook,
      inventory,
      verify: () => expect(readFileSync(report, 'utf8')).toBe(want),
      tamper: () => {
        writeFileSync(conf, 'port=8080\n');
        writeFileSync(join(dir, 'b.conf'), 'x\n');
        found = `2 ${conf},${join(dir, 'b.conf')}`;
        want = expected('port=8080\n', sha('port=8080\n'));
      },
    });
    const drift = r.check.tasks.filter((t) => t.status === 'changed');
    expect(drift.map((t) => t.module)).toEqual(['copy']);
    expect(drift[0]!.diff).toContain('+content=port=8080');
    // The read-only modules ran in check mode too and were ok every time.
    for (const run of [r.first, r.check, r.last])
      expect(run.tasks.filter((t) => ['stat', 'slurp', 'getent'].includes(t.module)).map((t) => t.status)).toEqual([
        'ok',
        'ok',
        'ok',
        'ok',
      ]);
  });

  it("registered results have Ansible's keys and types (the oracle's tree, registered over ssh)", async () => {
    const { dir } = suite;
    const tree = join(dir, 'tree');
    spawnSync('mkdir', [tree]);
    spawnSync('sh', [join(import.meta.dirname, '../../fixtures/inspect/tree.sh'), tree]);
    const inventory = suite.inventory();
    const playbook = join(dir, 'shape.yml');
    const names = ['stat file', 'stat dir', 'stat symlink', 'stat missing'];
    const tasks = names
      .map(
        (n, i) => `    - stat: { path: "${oracle[n]!.args.replace('path=@DIR@', tree)}" }
      register: r${i}
    - copy: { dest: ${join(dir, `shape${i}.json`)}, content: "{{ r${i} | to_json }}" }
`,
      )
      .join('');
    writeFileSync(playbook, `- hosts: all\n  gather_facts: false\n  tasks:\n${tasks}`);
    const rep = await runPlaybook(playbook, inventory);
    expect(rep.tasks.filter((t) => t.status === 'failed')).toEqual([]);
    names.forEach((n, i) => {
      const ours = JSON.parse(readFileSync(join(dir, `shape${i}.json`), 'utf8'));
      const theirs = oracleResult(oracle[n]!, tree);
      expect(Object.keys(ours).sort(), n).toEqual(expect.arrayContaining(Object.keys(theirs).filter((k) => k !== 'changed')));
      expect(Object.keys(ours.stat).sort(), n).toEqual(Object.keys(theirs.stat as object).sort());
      for (const [k, v] of Object.entries(theirs.stat as Record<string, unknown>)) {
        expect(typeof ours.stat[k], `${n}: ${k}`).toBe(typeof v);
        if (
          ![
            'atime',
            'mtime',
            'ctime',
            'inode',
            'dev',
            'version',
            'attributes',
            'attr_flags',
            'blocks',
            'block_size',
            'mimetype',
            'charset',
          ].includes(k)
        )
          expect(ours.stat[k], `${n}: ${k}`).toEqual(v);
      }
    });
  });
});
