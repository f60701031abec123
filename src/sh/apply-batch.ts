/**
 * One remote script that applies several task instances in order (batching of applies), framed
 * like frame.ts: each snippet's stdout, stderr and exit code come back separately.
 *
 * Per member, in order:
 * - `guard` (optional): the member's probe, run again here (its plan was made from a probe taken
 *   before earlier members' applies that may change what it reads): unless the script has
 *   stopped, the output must be byte-identical to the one planned from (SHA-256 on the host) or
 *   the script stops; once stopped, the output is a fresh probe for the next round trip;
 * - `apply` (optional: a member already converged has none): run unless the script has stopped;
 *   a non-zero exit stops it;
 * - `verify` (optional): the member's probe after its apply, run when the apply ran.
 * Then `trailing` probes, always run (after whatever was applied).
 *
 * "Stopped" means: no later apply runs. A snippet that did not run comes back with code -1.
 *
 * A member with `sync` starts a new PART of the script (the linear strategy's barrier before a
 * task that may act across hosts, docs/batching.md): the script is then sent in parts on one
 * shell (transport/session.ts), each part ending with a marker line, the next part sent at its
 * tasks' turn. Parts are cut between top-level commands only, and "stopped" (a shell variable)
 * holds across them. The trailing probes are in the last part.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ExecResult } from '../core/exec.ts';
import { PRELUDE } from './prelude.ts';

export interface BatchMember {
  /**
   * A guarded member: its probe script, and the SHA-256 (guardHash) of the output it was planned
   * from. The probe runs first; unless the script has stopped, the output must match or it stops.
   */
  guard?: { probe: string; sha256: string };
  apply?: string;
  /** The verify probe, after the apply. */
  verify?: string;
  /** A new part of the script starts at this member (not the first). */
  sync?: boolean;
}

export interface BatchOutput {
  probe?: ExecResult;
  apply?: ExecResult;
  verify?: ExecResult;
}

export interface FramedBatch {
  /** The whole script (the parts, joined). */
  script: string;
  /** The script in parts (one part when no member has `sync`); each ends by printing `marker(p)` (when there are several). */
  parts: string[];
  /** Per member, the part it is in. */
  partOf: number[];
  /** What part p prints when it is done (a line of stdout). */
  marker(p: number): string;
  parse(stdout: string): { members: BatchOutput[]; trailing: ExecResult[] };
}

/** The hash a guard compares: stdout, exit code and stderr of a probe as the controller parsed them. */
export function guardHash(out: ExecResult): string {
  return createHash('sha256').update(`${out.stdout}\n${out.code}\n${out.stderr}`, 'utf8').digest('hex');
}

/** Can a guard compare this probe output exactly? (frame.ts drops one leading newline of stdout.) */
export function guardable(out: ExecResult): boolean {
  return out.code >= 0 && !out.stdout.startsWith('\n');
}

export function frameBatch(members: readonly BatchMember[], trailing: readonly string[]): FramedBatch {
  const nonce = randomBytes(6).toString('hex');
  const parts = [
    PRELUDE,
    'kiln_err=$(mktemp) || exit 90',
    'kiln_out=$(mktemp) || exit 90',
    `trap 'rm -f "$kiln_err" "$kiln_out"' EXIT`,
    'kiln_stop=0',
  ];
  let n = 0;
  const body = (s: string) => (s.trim() ? `\n${s}\n` : ':');
  /** A snippet streamed to stdout, framed. */
  const streamed = (s: string): string[] => {
    const i = n++;
    return [
      `printf '\\n@@KILN:${nonce}:BEGIN:${i}\\n'`,
      `( ${body(s)} ) 2>"$kiln_err" </dev/null; kiln_rc=$?`,
      `printf '\\n@@KILN:${nonce}:END:${i}:%s\\n' "$kiln_rc"`,
      `base64 -w0 "$kiln_err"; printf '\\n@@KILN:${nonce}:ERR:${i}\\n'`,
    ];
  };
  const index: { probe?: number; apply?: number; verify?: number }[] = [];
  const cut: string[] = [];
  const partOf: number[] = [];
  const marker = (p: number) => `\n@@KILN:${nonce}:PART:${p}\n`;
  for (const [k, m] of members.entries()) {
    if (m.sync && k > 0) {
      parts.push(`printf '\\n@@KILN:${nonce}:PART:${cut.length}\\n'`);
      cut.push(parts.join('\n') + '\n');
      parts.length = 0;
    }
    partOf.push(cut.length);
    const at: { probe?: number; apply?: number; verify?: number } = {};
    if (m.guard !== undefined) {
      const i = (at.probe = n++);
      const run = [
        `( ${body(m.guard.probe)} ) >"$kiln_out" 2>"$kiln_err" </dev/null; kiln_rc=$?`,
        `printf '\\n@@KILN:${nonce}:BEGIN:${i}\\n'; cat "$kiln_out"`,
        `printf '\\n@@KILN:${nonce}:END:${i}:%s\\n' "$kiln_rc"`,
        `base64 -w0 "$kiln_err"; printf '\\n@@KILN:${nonce}:ERR:${i}\\n'`,
      ];
      // Once stopped, the output is only a fresh probe for the next round trip.
      parts.push(
        ...run,
        'if [ "$kiln_stop" = 0 ]; then',
        `kiln_h=$( { cat "$kiln_out"; printf '\\n%s\\n' "$kiln_rc"; cat "$kiln_err"; } | sha256sum ) || kiln_h=x`,
        `case "$kiln_h" in '${m.guard.sha256} '*) ;; *) kiln_stop=1 ;; esac`,
        'fi',
      );
    }
    if (m.apply !== undefined) {
      at.apply = n;
      parts.push(
        'kiln_ran=0',
        'if [ "$kiln_stop" = 0 ]; then',
        'kiln_ran=1',
        ...streamed(m.apply),
        '[ "$kiln_rc" = 0 ] || kiln_stop=1',
        'fi',
      );
      if (m.verify !== undefined) {
        at.verify = n;
        parts.push('if [ "$kiln_ran" = 1 ]; then', ...streamed(m.verify), 'fi');
      }
    }
    index.push(at);
  }
  const tail = trailing.map(() => n);
  trailing.forEach((s, k) => {
    tail[k] = n;
    parts.push(...streamed(s));
  });
  const total = n;
  if (cut.length) parts.push(`printf '\\n@@KILN:${nonce}:PART:${cut.length}\\n'`);
  cut.push(parts.join('\n') + '\n');
  return {
    script: cut.join(''),
    parts: cut,
    partOf,
    marker,
    parse(stdout: string) {
      const results: ExecResult[] = Array.from({ length: total }, () => ({ stdout: '', stderr: '', code: -1 }));
      const re = new RegExp(
        `\\n@@KILN:${nonce}:BEGIN:(\\d+)\\n([\\s\\S]*?)\\n@@KILN:${nonce}:END:\\d+:(\\d+)\\n([A-Za-z0-9+/=]*)\\n@@KILN:${nonce}:ERR:\\d+\\n`,
        'g',
      );
      for (const m of ('\n' + stdout).matchAll(re)) {
        const i = Number(m[1]);
        results[i] = { stdout: m[2]!.replace(/^\n/, ''), code: Number(m[3]), stderr: Buffer.from(m[4]!, 'base64').toString('utf8') };
      }
      const pick = (i: number | undefined) => (i === undefined ? undefined : results[i]);
      return {
        members: index.map((at) => ({ probe: pick(at.probe), apply: pick(at.apply), verify: pick(at.verify) })),
        trailing: tail.map((i) => results[i]!),
      };
    },
  };
}
