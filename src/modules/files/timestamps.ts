/**
 * `file`'s access_time and modification_time (Ansible's): `preserve` (leave the time alone),
 * `now` (the current time: a change on every run, as in Ansible), or a time written in
 * `*_time_format` (Python's time.strptime directives, default `%Y%m%d%H%M.%S`) and read in the
 * host's local time zone (Ansible's time.mktime runs on the host). The text is parsed on the
 * controller (a located error when it does not match the format); the host turns it into seconds
 * (`date -d`) in the probe, and the plan compares them with the file's times to the nanosecond,
 * as Ansible compares os.stat's float times.
 */

export type TimeSpec = { kind: 'preserve' } | { kind: 'now' } | { kind: 'at'; local: string };

/** Python's strptime regular expressions of the directives Kiln reads (_strptime.py). */
const DIRECTIVES: Record<string, { re: string; field: 'Y' | 'y' | 'm' | 'd' | 'H' | 'M' | 'S' | 'j' }> = {
  Y: { re: '(\\d\\d\\d\\d)', field: 'Y' },
  y: { re: '(\\d\\d)', field: 'y' },
  m: { re: '(1[0-2]|0[1-9]|[1-9])', field: 'm' },
  d: { re: '(3[01]|[12]\\d|0[1-9]|[1-9]| [1-9])', field: 'd' },
  H: { re: '(2[0-3]|[0-1]\\d|\\d)', field: 'H' },
  M: { re: '([0-5]\\d|\\d)', field: 'M' },
  S: { re: '(6[0-1]|[0-5]\\d|\\d)', field: 'S' },
};

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Python's time.strptime(value, format) for %Y %y %m %d %H %M %S %% (others refused by name): the local time it names. */
export function strptime(value: string, format: string): string {
  let re = '';
  const fields: string[] = [];
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c === '%') {
      const d = format[++i];
      if (d === '%') re += '%';
      else if (d !== undefined && DIRECTIVES[d]) {
        re += DIRECTIVES[d].re;
        fields.push(DIRECTIVES[d].field);
      } else throw new Error(`the format directive %${d ?? ''} is not supported by Kiln (it reads %Y %y %m %d %H %M %S and %%)`);
    } else if (/\s/.test(c)) {
      re += '\\s+';
      while (/\s/.test(format[i + 1] ?? '')) i++;
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  const m = new RegExp(`^${re}$`, 'i').exec(value);
  if (!m) throw new Error(`time data ${JSON.stringify(value)} does not match format ${JSON.stringify(format)}`);
  const t = { Y: 1900, m: 1, d: 1, H: 0, M: 0, S: 0 };
  fields.forEach((f, k) => {
    const n = Number(m[k + 1]!.trim());
    if (f === 'y') t.Y = n < 69 ? 2000 + n : 1900 + n;
    else t[f as 'Y' | 'm' | 'd' | 'H' | 'M' | 'S'] = n;
  });
  const days = new Date(Date.UTC(t.Y, t.m, 0)).getUTCDate();
  if (t.d > days) throw new Error('day is out of range for month');
  // Python's struct_time allows second 60 and 61; mktime carries them into the next minute.
  return `${pad(t.Y, 4)}-${pad(t.m)}-${pad(t.d)} ${pad(t.H)}:${pad(t.M)}:${pad(t.S)}`;
}

/** Ansible's keep_backward_compatibility_on_timestamps and get_timestamp_for_time. */
export function timeSpec(value: string | undefined, format: string | undefined, state: string, what: string): TimeSpec {
  const v = value ?? (state === 'touch' ? 'now' : 'preserve');
  if (v === 'preserve') return { kind: 'preserve' };
  if (v === 'now') return { kind: 'now' };
  const f = format ?? '%Y%m%d%H%M.%S';
  try {
    const local = strptime(v, f);
    // 60 and 61 seconds: date -d refuses them; Python's mktime would roll over. Refused rather than guessed.
    if (/:6[01]$/.test(local)) throw new Error('a leap second (60 or 61) is not supported by Kiln');
    return { kind: 'at', local };
  } catch (e) {
    throw new Error(`Error while obtaining timestamp for time ${v} using format ${f} (${what}): ${(e as Error).message}`);
  }
}
