/**
 * vitest globalSetup: every temp dir the unit and integration tests make (mkdtemp under
 * os.tmpdir()) lands in one directory of this run, removed when the run ends, so test runs do
 * not leave kiln-* directories behind in /tmp. Test workers are forked after this runs and
 * inherit TMPDIR, which os.tmpdir() reads.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const previous = process.env.TMPDIR;
  const root = mkdtempSync(join(tmpdir(), 'kiln-test-'));
  process.env.TMPDIR = root;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
