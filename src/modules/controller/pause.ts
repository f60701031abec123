/**
 * pause (ansible.builtin.pause), non-interactive: waits `seconds` (or `minutes`) before the next
 * task, at least 1 second, as Ansible 2.14 does. `prompt` and `echo` wait for a person at the
 * keyboard: refused (ansible/mapping.ts); without a duration Ansible waits for Enter: refused too.
 * Registered as Ansible's: `{ stdout: "Paused for 1.0 seconds", delta, start, stop, echo, rc, … }`.
 */
import { defineAction } from '../action.ts';
import { PyFloat, pyStr } from '../../template/jinja/value.ts';

interface P {
  seconds?: number;
  minutes?: number;
}

/** Python's str(datetime.now()): local time, microseconds. */
function pyNow(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds() * 1000, 6)}`;
}

export default defineAction<P>({
  name: 'pause',
  description: 'wait a number of seconds or minutes before the next task (non-interactive; no round trip)',
  schema: {
    type: 'object',
    properties: {
      seconds: { type: 'number', description: 'seconds to wait (whole seconds; at least 1)' },
      minutes: { type: 'number', description: 'minutes to wait (whole minutes)' },
    },
    additionalProperties: false,
  },
  check(p) {
    if (p.seconds !== undefined && p.minutes !== undefined) throw new Error('parameters are mutually exclusive: minutes|seconds');
    if (p.seconds === undefined && p.minutes === undefined)
      throw new Error('give seconds or minutes: without them Ansible waits for Enter, and Kiln runs non-interactively');
  },
  barrier: true,
  bypassHostLoop: true,
  run(p) {
    const unit = p.minutes !== undefined ? 'minutes' : 'seconds';
    // Ansible's int(): a float is truncated.
    let seconds = p.minutes !== undefined ? Math.trunc(p.minutes) * 60 : Math.trunc(p.seconds!);
    if (seconds < 1) seconds = 1;
    const start = Date.now();
    const shown = unit === 'minutes' ? Math.round((seconds / 60) * 100) / 100 : seconds;
    return {
      changed: false,
      message: `Paused for ${seconds} seconds`,
      result: {
        delta: seconds,
        echo: true,
        rc: 0,
        start: pyNow(start),
        stop: pyNow(start + seconds * 1000),
        stderr: '',
        stdout: `Paused for ${pyStr(new PyFloat(shown))} ${unit}`,
        user_input: '',
      },
      effects: [{ kind: 'pause', ms: seconds * 1000 }],
    };
  },
});
