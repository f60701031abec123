/** frameScripts: many snippets in one remote script, each one's output, stderr and exit code apart. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { frameScripts } from '../../../src/sh/frame.ts';

describe('batched probe framing', () => {
  it('separates output, stderr and exit codes of each snippet in one script', () => {
    const f = frameScripts(['echo one; echo err >&2; exit 3', 'printf "no newline"', 'cat', 'kiln_stat /nonexistent-kiln']);
    const out = execFileSync('sh', ['-s'], { input: f.script }).toString();
    const r = f.parse(out);
    expect(r[0]).toEqual({ stdout: 'one\n', stderr: 'err\n', code: 3 });
    expect(r[1]).toEqual({ stdout: 'no newline', stderr: '', code: 0 });
    expect(r[2]!.stdout).toBe(''); // stdin is closed for probes: they cannot eat the script
    expect(r[3]!.stdout).toBe('exists=0\n');
  });
});
