/**
 * The tree each tool leaves on a host, compared between tools: every path under
 * /opt/kbench-TOOL, the unit files /etc/systemd/system/kbench-TOOL-N.service and their enable
 * links, with type, owner, group, mode and content (a symlink's target), and the five services'
 * active and enabled states. Paths and contents are compared with the tool's name replaced by
 * TOOL (the only intended difference: `bench_tool`); anything else that differs is a difference.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { hostAddr } from './addresses.ts';
import { LAB_DIR } from './paths.ts';

/** One entry of a tree: a path (or `unit NAME`) and what is compared of it. */
export interface TreeEntry {
  path: string;
  /** `type owner group mode` of a path; `active enabled` of a unit. */
  meta: string;
  /** A regular file's content, a symlink's target; '' otherwise. */
  content: string;
}

const TOOL_NAME = /^[a-z][a-z0-9]*$/;

/** The shell script (run as root on the host) that prints TOOL's tree, one `path|meta|base64 content` line per entry. */
export function treeScript(tool: string): string {
  if (!TOOL_NAME.test(tool)) throw new Error(`bad tool name ${tool}`);
  return [
    `find /opt/kbench-${tool} /etc/systemd/system \\( -path '/opt/kbench-${tool}' -o -path '/opt/kbench-${tool}/*' -o -name 'kbench-${tool}-*' \\) 2>/dev/null | LC_ALL=C sort | while IFS= read -r p; do`,
    `  m=$(stat -c '%F %U %G %a' "$p")`,
    `  if [ -L "$p" ]; then c=$(readlink "$p" | base64 -w0); elif [ -f "$p" ]; then c=$(base64 -w0 < "$p"); else c=''; fi`,
    `  printf '%s|%s|%s\\n' "$p" "$m" "$c"`,
    'done',
    `for n in 1 2 3 4 5; do printf 'unit kbench-${tool}-%s|%s %s|\\n' "$n" "$(systemctl is-active kbench-${tool}-$n)" "$(systemctl is-enabled kbench-${tool}-$n)"; done`,
  ].join('\n');
}

/** The entries of treeScript's output, with `tool` replaced by TOOL in paths and contents. */
export function parseTree(text: string, tool: string): TreeEntry[] {
  const norm = (s: string): string => s.split(tool).join('TOOL');
  const entries: TreeEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [p, meta, b64] = line.split('|');
    if (meta === undefined || b64 === undefined) throw new Error(`unexpected tree line: ${line}`);
    entries.push({ path: norm(p), meta, content: norm(Buffer.from(b64, 'base64').toString('utf8')) });
  }
  return entries;
}

/** Differences of `b` (tool `bName`) from `a` (tool `aName`), one sentence each; [] when identical. */
export function diffTrees(a: readonly TreeEntry[], b: readonly TreeEntry[], aName: string, bName: string): string[] {
  const out: string[] = [];
  const am = new Map(a.map((e) => [e.path, e]));
  const bm = new Map(b.map((e) => [e.path, e]));
  if (a.length === 0) out.push(`${aName} left nothing on the host`);
  if (b.length === 0) out.push(`${bName} left nothing on the host`);
  for (const [p, ea] of am) {
    const eb = bm.get(p);
    if (!eb) {
      out.push(`${p}: only ${aName} has it`);
      continue;
    }
    if (ea.meta !== eb.meta) out.push(`${p}: ${aName} \`${ea.meta}\`, ${bName} \`${eb.meta}\``);
    if (ea.content !== eb.content)
      out.push(`${p}: contents differ (${ea.content.length} bytes for ${aName}, ${eb.content.length} for ${bName})`);
  }
  for (const p of bm.keys()) if (!am.has(p)) out.push(`${p}: only ${bName} has it`);
  return out;
}

/** The tree of `tool` on bench host `index`, read over SSH as the lab's deploy user with sudo. */
export function readTree(index: number, tool: string, labDir: string = LAB_DIR): Promise<TreeEntry[]> {
  const args = [
    '-i',
    path.join(labDir, 'id_ed25519'),
    '-o',
    `UserKnownHostsFile=${path.join(labDir, 'known_hosts')}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    `deploy@${hostAddr(index)}`,
    'sudo -n sh',
  ];
  return new Promise((resolve, reject) => {
    const child = execFile('ssh', args, { maxBuffer: 16 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`reading the ${tool} tree on ${hostAddr(index)} failed: ${stderr || err.message}`));
      else resolve(parseTree(stdout, tool));
    });
    child.stdin?.end(treeScript(tool));
  });
}
