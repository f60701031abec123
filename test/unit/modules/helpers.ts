/** Helpers for module unit tests: contexts, syntax checks and running read-only probes locally. */
import { spawnSync } from 'node:child_process';
import { PRELUDE } from '../../../src/sh/prelude.ts';
import { type ExecResult, type ModuleContext, RunMemory } from '../../../src/modules/contract.ts';

export function ctx(over: Partial<ModuleContext> = {}): ModuleContext {
  return { run: new RunMemory(), host: 'web1', check: false, diff: true, become: true, taskFile: 'site.yml', ...over };
}

/** `sh -n`: the script parses as POSIX sh (dash on Debian). Returns stderr ('' when valid). */
export function shSyntax(script: string): string {
  const r = spawnSync('sh', ['-n'], { input: `${PRELUDE}\n${script}\n`, encoding: 'utf8' });
  return r.status === 0 ? '' : r.stderr || `exit ${r.status}`;
}

/** Runs a READ-ONLY probe locally the way the engine does: PRELUDE + probe in a subshell. */
export function runProbe(script: string, env?: NodeJS.ProcessEnv): ExecResult {
  const r = spawnSync('sh', [], { input: `${PRELUDE}\n(\n${script}\n)\n`, encoding: 'utf8', timeout: 30_000, env });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status ?? -1 };
}

/** Lines of a script outside heredoc bodies: what can end up in some process's argv. */
export function outsideHeredocs(script: string): string {
  const keep: string[] = [];
  let tag: string | undefined;
  for (const line of script.split('\n')) {
    if (tag) {
      if (line === tag) tag = undefined;
      continue;
    }
    keep.push(line);
    tag = /<<'([A-Za-z0-9_]+)'/.exec(line)?.[1];
  }
  return keep.join('\n');
}
