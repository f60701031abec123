/**
 * Batched remote scripts. The probes of many task instances are concatenated into one POSIX sh
 * script (one SSH round trip); each probe runs in its own subshell and its stdout, stderr and
 * exit code are framed with markers carrying a per-script nonce.
 */
import { randomBytes } from 'node:crypto';
import type { ExecResult } from '../core/exec.ts';
import { batchLines, inlineProbe, MAY_WRITE, ownReads, scanRequests } from './batch.ts';
import { PRELUDE } from './prelude.ts';

export interface Framed {
  script: string;
  parse(stdout: string): ExecResult[];
}

export interface FrameOptions {
  /**
   * Every snippet only reads the host (a probe window): their stats, hashes and units are read
   * up front, each kind in one command (batch.ts). Never for a script holding an apply: what it
   * writes would not be seen by the snippets after it.
   */
  readOnly?: boolean;
}

/** Builds one script running each snippet in a subshell, capturing its output separately. */
export function frameScripts(snippets: string[], { readOnly = false }: FrameOptions = {}): Framed {
  const nonce = randomBytes(6).toString('hex');
  const parts = [PRELUDE, 'kiln_err=$(mktemp) || exit 90', `trap 'rm -f "$kiln_err"' EXIT`];
  // The probes' stats, hashes and units, each kind read in one command (batch.ts).
  const batch = readOnly ? batchLines(scanRequests(snippets)) : '';
  if (batch) parts.push(batch.trimEnd());
  snippets.forEach((s, i) => {
    parts.push(
      `printf '\\n@@KILN:${nonce}:BEGIN:${i}\\n'`,
      // A probe of the prelude's calls only runs in this shell (batch.ts's inlineProbe); others in a subshell.
      readOnly && s.trim() && inlineProbe(s)
        ? `{ \n${s}\n} 2>"$kiln_err" </dev/null; kiln_rc=$?`
        : `( ${s.trim() ? `\n${batch && ownReads(s) ? 'kiln_nc=1\n' : ''}${s}\n` : ':'} ) 2>"$kiln_err" </dev/null; kiln_rc=$?`,
      `printf '\\n@@KILN:${nonce}:END:${i}:%s\\n' "$kiln_rc"`,
      // base64 only for a snippet that wrote to stderr: an empty file encodes to nothing.
      `[ ! -s "$kiln_err" ] || base64 -w0 "$kiln_err"; printf '\\n@@KILN:${nonce}:ERR:${i}\\n'`,
    );
    // It ran a command of the user's: later snippets read the host anew.
    if (s.includes(MAY_WRITE)) parts.push('kiln_nc=1');
  });
  return {
    script: parts.join('\n') + '\n',
    parse(stdout: string): ExecResult[] {
      const results: ExecResult[] = snippets.map(() => ({ stdout: '', stderr: '', code: -1 }));
      const re = new RegExp(
        `\\n@@KILN:${nonce}:BEGIN:(\\d+)\\n([\\s\\S]*?)\\n@@KILN:${nonce}:END:\\d+:(\\d+)\\n([A-Za-z0-9+/=]*)\\n@@KILN:${nonce}:ERR:\\d+\\n`,
        'g',
      );
      for (const m of ('\n' + stdout).matchAll(re)) {
        const i = Number(m[1]);
        results[i] = { stdout: m[2]!.replace(/^\n/, ''), code: Number(m[3]), stderr: Buffer.from(m[4]!, 'base64').toString('utf8') };
      }
      return results;
    },
  };
}
