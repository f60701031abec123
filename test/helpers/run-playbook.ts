/**
 * Runs a playbook through validation and the real Runner, in-process, with a quiet reporter: what
 * engine-level tests share (commit-confirm over a loopback sshd, the host sequence and fault
 * injection over the local transport). Options not given are the CLI's defaults for one host.
 */
import type { Reporter } from '../../src/engine/events.ts';
import type { RunReport } from '../../src/engine/report.ts';
import { Runner, type RunnerOptions } from '../../src/engine/runner.ts';
import { validateRun } from '../../src/plan/validate.ts';

/** A reporter that prints nothing. */
export const quietReporter: Reporter = { playStart() {}, taskStart() {}, result() {}, taskEnd() {}, playEnd() {}, warn() {} };

export interface RunPlaybookOptions extends Pick<RunnerOptions, 'transport' | 'wrapTransport' | 'timeouts'> {
  /** Default: quietReporter. */
  reporter?: Reporter;
  forks?: number;
  check?: boolean;
  diff?: boolean;
  /** false: one apply per round trip (`--no-batch`). */
  batch?: boolean;
  /** `--limit`. */
  limit?: string;
}

/** Validates `playbook` against `inventory` (files), then runs it; returns the run's report. */
export async function runPlaybook(playbook: string, inventory: string, opts: RunPlaybookOptions = {}): Promise<RunReport> {
  const { check = false, diff = false, reporter = quietReporter, forks = 1, batch, limit, ...transport } = opts;
  const v = validateRun({ playbook, inventory: [inventory], extraVars: {}, tags: [], skipTags: [], check, diff, limit });
  const runner = new Runner(v.playbook, v.inventory, {
    check,
    diff,
    forks,
    tags: [],
    skipTags: [],
    extraVars: {},
    acceptNewHostKeys: false,
    reporter,
    ...(batch === undefined ? {} : { batch }),
    ...(limit === undefined ? {} : { limit }),
    ...transport,
  });
  return runner.run();
}
