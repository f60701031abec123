/**
 * `release` of a tree whose file names hold a `\`, a newline, quotes or UTF-8 (which `sha256sum`
 * escapes), against a real OpenSSH server on loopback: the first run deploys the files
 * byte-identical under their exact names, the second run is ok (the host's content hash equals the
 * controller's). The health URL is answered by a small HTTP server in this test process; the host
 * has no systemd here, so the restart only prints its failure (the release module does not stop
 * on it) and the health check decides.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kilnAsync } from '../helpers/kiln.ts';
import { startSshd, type TestSshd, writeSshdInventory } from '../helpers/sshd.ts';

let sshd: TestSshd;
let http: Server;
let port: number;
let work: string;
let root: string;
let inv: string;

const ODD = ['back\\slash.js', 'new\nline.txt', `it's "quoted".txt`, 'café ☃.txt'];
const NESTED = 'dir\\with\nodd/in\\side';

beforeAll(async () => {
  sshd = await startSshd();
  http = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('{"status":"ok"}');
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  port = (http.address() as AddressInfo).port;
  work = mkdtempSync(join(tmpdir(), 'kiln-release-names-'));
  root = join(work, 'target', 'app');
  mkdirSync(join(work, 'inv'));
  inv = writeSshdInventory(sshd, join(work, 'inv'), { loop1: {} });
  const src = join(work, 'files', 'app');
  mkdirSync(join(src, 'dir\\with\nodd'), { recursive: true });
  for (const n of ODD) writeFileSync(join(src, n), `content of ${n}\n`);
  writeFileSync(join(src, NESTED), 'nested\n');
}, 30000);

afterAll(async () => {
  await sshd?.stop();
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  if (work) rmSync(work, { recursive: true, force: true });
});

async function run(playbook: string): Promise<{ code: number; output: string; statuses: string[] }> {
  const json = join(work, `report-${Math.random().toString(36).slice(2)}.json`);
  const r = await kilnAsync(['apply', playbook, '-i', inv, '--json', json]);
  const report = existsSync(json)
    ? (JSON.parse(readFileSync(json, 'utf8')) as { tasks: { task: string; status: string }[] })
    : { tasks: [] };
  return { code: r.code, output: r.output, statuses: report.tasks.map((t) => `${t.task}: ${t.status}`) };
}

describe('release of file names that sha256sum escapes', () => {
  it('deploys them under their exact names, and the second run is ok', async () => {
    const pb = join(work, 'release.yml');
    writeFileSync(
      pb,
      `- hosts: all
  tasks:
    - name: deploy
      release:
        root: ${root}
        version: "1.0.0"
        src: app
        service: kiln-test-no-such-unit
        health_url: http://127.0.0.1:${port}/health
        timeout: 5
`,
    );
    const first = await run(pb);
    expect(first.code, first.output).toBe(0);
    expect(first.statuses).toEqual(['deploy: changed']);
    expect(readlinkSync(join(root, 'current'))).toBe('releases/1.0.0');
    const rel = join(root, 'releases', '1.0.0');
    for (const n of ODD) expect(readFileSync(join(rel, n), 'utf8')).toBe(`content of ${n}\n`);
    expect(readFileSync(join(rel, NESTED), 'utf8')).toBe('nested\n');
    expect(readdirSync(rel).sort()).toEqual([...ODD, 'dir\\with\nodd'].sort());

    const second = await run(pb);
    expect(second.code, second.output).toBe(0);
    expect(second.statuses).toEqual(['deploy: ok']);

    // A changed file under the same version is noticed (the hash is not blind to these names).
    writeFileSync(join(rel, 'new\nline.txt'), 'edited on the host\n');
    const third = await run(pb);
    expect(third.code).not.toBe(0);
    expect(third.output).toMatch(/release 1\.0\.0 is already on the host with different files/);
  }, 60000);
});
