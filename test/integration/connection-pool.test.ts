/**
 * Integration (issue 20, "Scale from one controller"): many inventory aliases of ONE real loopback
 * OpenSSH server, with its default MaxStartups (10:30:100) and MaxSessions (10), at a small
 * --forks. The connection pool (src/transport/pool.ts) keeps at most --forks connections open:
 * counted on the server's side (its ESTABLISHED TCP connections, sampled from /proc/net/tcp, read
 * whole in one read, every 5 ms while the run goes), every host converges (first apply, then a converged re-run with 0 changed), and no
 * host fails or is unreachable. Nothing is timed.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countEstablished, readTcpTable } from '../../bench/driver/scale.ts';
import { kilnAsync } from '../helpers/kiln.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';

let sshd: TestSshd;
let work: string;

beforeAll(async () => {
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'kiln-pool-'));
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Report {
  hosts: Record<string, { changed: number; failed: number; unreachable: boolean; round_trips: number }>;
}

/** Runs kiln apply while sampling the server's open connections; returns the report and the most seen at once. */
async function applyCounting(
  pb: string,
  inv: string,
  forks: number,
  json: string,
): Promise<{ report: Report; peak: number; code: number; out: string }> {
  let peak = 0;
  let samples = 0;
  const t = setInterval(() => {
    peak = Math.max(peak, countEstablished(readTcpTable(), sshd.port));
    samples++;
  }, 5);
  const r = await kilnAsync(['apply', pb, '-i', inv, '--forks', String(forks), '--json', json, '--progress', 'plain', '--no-color'], {
    timeoutMs: 240000,
  });
  clearInterval(t);
  expect(samples).toBeGreaterThan(0);
  return { report: JSON.parse(readFileSync(json, 'utf8')) as Report, peak, code: r.code, out: r.output };
}

describe.runIf(userInfo().uid === 0 || process.env.KILN_TEST_SSHD === '1')('connection pool, 30 aliases of one sshd', () => {
  it('--forks 3: at most 3 connections open on the server, every host converged, none failed or unreachable', async () => {
    const hosts = Array.from({ length: 30 }, (_, i) => `alias${i + 1}`);
    const inv = writeSshdInventory(sshd, work, Object.fromEntries(hosts.map((h) => [h, {}])));
    const out = join(work, 'out');
    const pb = join(work, 'site.yml');
    // Three tasks that each change every host on the first apply (each host is needed again at
    // every task: the pool closes and reopens connections), all converged on the second.
    writeFileSync(
      pb,
      `- hosts: all
  gather_facts: false
  tasks:
    - file: { path: "${out}/{{ inventory_hostname }}", state: directory, mode: "0755" }
    - copy: { dest: "${out}/{{ inventory_hostname }}/a.txt", content: "{{ inventory_hostname }}\\n", mode: "0644" }
    - command: { cmd: "touch ${out}/{{ inventory_hostname }}/done", creates: "${out}/{{ inventory_hostname }}/done" }
`,
    );
    const first = await applyCounting(pb, inv, 3, join(work, 'first.json'));
    expect(first.code, first.out).toBe(0);
    expect(Object.keys(first.report.hosts).sort()).toEqual([...hosts].sort());
    for (const [h, s] of Object.entries(first.report.hosts)) {
      expect(s, h).toMatchObject({ failed: 0, unreachable: false, changed: 3 });
      expect(readFileSync(join(out, h, 'a.txt'), 'utf8')).toBe(`${h}\n`);
      expect(existsSync(join(out, h, 'done'))).toBe(true);
    }
    expect(first.peak).toBeGreaterThan(0);
    expect(first.peak).toBeLessThanOrEqual(3);
    expect(first.out).not.toMatch(/channel open|timed out|unreachable=[1-9]/i);

    const again = await applyCounting(pb, inv, 3, join(work, 'again.json'));
    expect(again.code, again.out).toBe(0);
    for (const [h, s] of Object.entries(again.report.hosts)) expect(s, h).toMatchObject({ failed: 0, unreachable: false, changed: 0 });
    expect(again.peak).toBeLessThanOrEqual(3);
  }, 300000);
});
