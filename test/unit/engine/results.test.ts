/** The one TaskResult factory (src/engine/results.ts). */
import { describe, expect, it } from 'vitest';
import { Secret } from '../../../src/core/secret/secret.ts';
import { taskResult } from '../../../src/engine/results.ts';

describe('taskResult', () => {
  const scope = { host: 'web1', play: 'site', check: true, handler: false };

  it('builds every field from the scope, the subject and the outcome; extra fields win', () => {
    const started = Date.now() - 5;
    const r = taskResult(scope, { task: 'gather facts', module: 'facts' }, 'failed', started, [], 'boom', { ignored: true });
    expect(r).toMatchObject({
      host: 'web1',
      play: 'site',
      task: 'gather facts',
      module: 'facts',
      status: 'failed',
      changes: [],
      message: 'boom',
      check: true,
      handler: false,
      ignored: true,
    });
    expect(r.duration_ms).toBeGreaterThanOrEqual(5);
    expect(taskResult(scope, { task: 't', module: 'file' }, 'ok', started, [], undefined, { check: false }).check).toBe(false);
  });

  it('redacts the message; no message stays undefined', () => {
    new Secret('results-test-s3cr3t');
    expect(taskResult(scope, { task: 't', module: 'shell' }, 'failed', Date.now(), [], 'saw results-test-s3cr3t').message).toBe(
      'saw ********',
    );
    expect(taskResult(scope, { task: 't', module: 'shell' }, 'ok', Date.now()).message).toBeUndefined();
  });
});
