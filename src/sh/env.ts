/**
 * The `environment` keyword in a remote script: `export NAME='value'` lines put at the top of a
 * task's probe, apply and confirm snippets (each runs in its own subshell, so the variables reach
 * that task only). The values travel inside the script text on stdin, never in a command line.
 */
import { q } from './quote.ts';

/** A name the shell can export (Ansible's env_prefix would write any name; Kiln refuses the others before any host is contacted). */
export const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `export` lines for `env` (names checked by the caller), one per variable, in order; '' when empty. */
export function exportEnv(env: Readonly<Record<string, string>>): string {
  const lines = Object.entries(env).map(([k, v]) => {
    if (!ENV_NAME_RE.test(k)) throw new Error(`invalid environment variable name ${JSON.stringify(k)}`);
    return `export ${k}=${q(v)}`;
  });
  return lines.length ? `${lines.join('\n')}\n` : '';
}
