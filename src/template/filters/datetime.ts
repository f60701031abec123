/**
 * Python's time.strftime (glibc, C locale), datetime.strptime and a naive `datetime.datetime`
 * value, for Ansible's `strftime` and `to_datetime` filters and the `now()` global.
 *
 * The datetime is a PyObject (../jinja/convert.ts): it renders like Python's str(datetime),
 * exposes year…microsecond and the methods strftime, isoformat, timestamp, weekday, isoweekday.
 * Arithmetic and comparisons on it are not modelled (the engine raises a TypeError for them).
 */
import { PyMethod, PyObject } from '../jinja/convert.ts';
import { float, PyError, pyStr, typeName } from '../jinja/value.ts';
import { bindArgs } from './args.ts';

const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** A broken-down time (struct tm) with what strftime needs. */
export interface Tm {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday. */
  wday: number;
  /** 1-366. */
  yday: number;
  /** Seconds since the epoch (for %s). */
  epoch: number;
  /** Offset east of UTC in seconds, or null for a naive datetime (%z/%Z print ''). */
  gmtoff: number | null;
  /** The zone's abbreviation, or null when Kiln cannot tell it. */
  zone: string | null;
  /** A datetime's microseconds (datetime.strftime's %f); absent for time.strftime, where %f stays as is. */
  microsecond?: number;
}

function pad(n: number, w: number, c = '0'): string {
  const s = String(Math.abs(n));
  return (n < 0 ? '-' : '') + s.padStart(w, c);
}

/** ISO 8601 week-based year and week number. */
function isoWeek(t: Tm): [number, number] {
  const wdayMon = (t.wday + 6) % 7; // 0 = Monday
  let year = t.year;
  let week = Math.floor((t.yday - 1 - wdayMon + 10) / 7);
  const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (week < 1) {
    year -= 1;
    const days = isLeap(year) ? 366 : 365;
    week = Math.floor((t.yday - 1 + days - wdayMon + 10) / 7);
  } else if (week === 53) {
    const days = isLeap(year) ? 366 : 365;
    if (t.yday - 1 - wdayMon + 3 >= days) {
      year += 1;
      week = 1;
    }
  }
  return [year, week];
}

/** glibc's strftime in the C locale. Unknown conversions are copied as they are, like glibc does. */
export function strftime(fmt: string, t: Tm): string {
  let out = '';
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i];
    if (c !== '%' || i + 1 >= fmt.length) {
      out += c;
      continue;
    }
    const k = fmt[++i]!;
    const h12 = t.hour % 12 || 12;
    switch (k) {
      case 'a':
        out += DAYS[t.wday]!.slice(0, 3);
        break;
      case 'A':
        out += DAYS[t.wday];
        break;
      case 'b':
      case 'h':
        out += MONTHS[t.month - 1]!.slice(0, 3);
        break;
      case 'B':
        out += MONTHS[t.month - 1];
        break;
      case 'c':
        out += strftime('%a %b %e %H:%M:%S %Y', t);
        break;
      case 'C':
        out += pad(Math.floor(t.year / 100), 2);
        break;
      case 'd':
        out += pad(t.day, 2);
        break;
      case 'D':
      case 'x':
        out += strftime('%m/%d/%y', t);
        break;
      case 'e':
        out += pad(t.day, 2, ' ');
        break;
      case 'f':
        out += t.microsecond === undefined ? '%f' : pad(t.microsecond, 6);
        break;
      case 'F':
        out += `${t.year < 0 ? '-' : ''}${String(Math.abs(t.year)).padStart(4, '0')}-${pad(t.month, 2)}-${pad(t.day, 2)}`;
        break;
      case 'G':
        out += String(isoWeek(t)[0]);
        break;
      case 'g':
        out += pad(isoWeek(t)[0] % 100, 2);
        break;
      case 'H':
        out += pad(t.hour, 2);
        break;
      case 'I':
        out += pad(h12, 2);
        break;
      case 'j':
        out += pad(t.yday, 3);
        break;
      case 'k':
        out += pad(t.hour, 2, ' ');
        break;
      case 'l':
        out += pad(h12, 2, ' ');
        break;
      case 'm':
        out += pad(t.month, 2);
        break;
      case 'M':
        out += pad(t.minute, 2);
        break;
      case 'n':
        out += '\n';
        break;
      case 'p':
        out += t.hour < 12 ? 'AM' : 'PM';
        break;
      case 'P':
        out += t.hour < 12 ? 'am' : 'pm';
        break;
      case 'r':
        out += strftime('%I:%M:%S %p', t);
        break;
      case 'R':
        out += strftime('%H:%M', t);
        break;
      case 's':
        out += String(t.epoch);
        break;
      case 'S':
        out += pad(t.second, 2);
        break;
      case 't':
        out += '\t';
        break;
      case 'T':
      case 'X':
        out += strftime('%H:%M:%S', t);
        break;
      case 'u':
        out += String(t.wday || 7);
        break;
      case 'U':
        out += pad(Math.floor((t.yday - 1 + 7 - t.wday) / 7), 2);
        break;
      case 'V':
        out += pad(isoWeek(t)[1], 2);
        break;
      case 'w':
        out += String(t.wday);
        break;
      case 'W':
        out += pad(Math.floor((t.yday - 1 + 7 - ((t.wday + 6) % 7)) / 7), 2);
        break;
      case 'y':
        out += pad(((t.year % 100) + 100) % 100, 2);
        break;
      case 'Y':
        out += String(t.year);
        break;
      case 'z': {
        if (t.gmtoff === null) break;
        const m = Math.round(Math.abs(t.gmtoff) / 60);
        out += `${t.gmtoff < 0 ? '-' : '+'}${pad(Math.floor(m / 60), 2)}${pad(m % 60, 2)}`;
        break;
      }
      case 'Z':
        if (t.gmtoff === null) break;
        if (t.zone === null)
          throw new PyError('NotSupported', "strftime's %Z (the time zone's name) is not supported by Kiln for this zone");
        out += t.zone;
        break;
      case '%':
        out += '%';
        break;
      default:
        out += `%${k}`;
    }
  }
  return out;
}

function dayOfYear(y: number, m: number, d: number): number {
  return Math.round((Date.UTC(y, m - 1, d) - Date.UTC(y, 0, 1)) / 86400000) + 1;
}

/** The controller's zone abbreviation at an instant, when it is a plain abbreviation ('UTC', 'CET'). */
function zoneName(ms: number): string | null {
  const part = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' })
    .formatToParts(new Date(ms))
    .find((p) => p.type === 'timeZoneName');
  return part && /^[A-Z]{2,5}$/.test(part.value) ? part.value : null;
}

/** time.localtime(seconds) / time.gmtime(seconds). */
export function tmAt(seconds: number, utc: boolean): Tm {
  const ms = Math.floor(seconds) * 1000;
  const d = new Date(ms);
  if (utc) {
    return {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
      wday: d.getUTCDay(),
      yday: dayOfYear(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()),
      epoch: Math.floor(seconds),
      gmtoff: 0,
      zone: 'GMT',
    };
  }
  return {
    year: d.getFullYear(),
    month: d.getMonth() + 1,
    day: d.getDate(),
    hour: d.getHours(),
    minute: d.getMinutes(),
    second: d.getSeconds(),
    wday: d.getDay(),
    yday: dayOfYear(d.getFullYear(), d.getMonth() + 1, d.getDate()),
    epoch: Math.floor(seconds),
    gmtoff: -d.getTimezoneOffset() * 60,
    zone: zoneName(ms),
  };
}

/** Python's naive datetime.datetime. */
export class PyDatetime extends PyObject {
  static {
    Object.defineProperty(PyDatetime, 'name', { value: 'datetime' });
  }

  constructor(
    readonly year: number,
    readonly month: number,
    readonly day: number,
    readonly hour = 0,
    readonly minute = 0,
    readonly second = 0,
    readonly microsecond = 0,
  ) {
    super();
  }

  /** The current local (or UTC) time, with microseconds. */
  static now(utc: boolean): PyDatetime {
    const us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
    const ms = Math.floor(us / 1000);
    const d = new Date(ms);
    const micro = us % 1000000;
    return utc
      ? new PyDatetime(
          d.getUTCFullYear(),
          d.getUTCMonth() + 1,
          d.getUTCDate(),
          d.getUTCHours(),
          d.getUTCMinutes(),
          d.getUTCSeconds(),
          micro,
        )
      : new PyDatetime(d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), micro);
  }

  /** The local Date this naive datetime means (as Python's mktime reads it). */
  private local(): Date {
    return new Date(this.year, this.month - 1, this.day, this.hour, this.minute, this.second, Math.floor(this.microsecond / 1000));
  }

  tm(): Tm {
    const wday = new Date(Date.UTC(this.year, this.month - 1, this.day)).getUTCDay();
    return {
      year: this.year,
      month: this.month,
      day: this.day,
      hour: this.hour,
      minute: this.minute,
      second: this.second,
      wday,
      yday: dayOfYear(this.year, this.month, this.day),
      epoch: Math.floor(this.local().getTime() / 1000),
      gmtoff: null,
      zone: null,
      microsecond: this.microsecond,
    };
  }

  isoformat(sep = 'T'): string {
    const date = `${String(this.year).padStart(4, '0')}-${pad(this.month, 2)}-${pad(this.day, 2)}`;
    const time = `${pad(this.hour, 2)}:${pad(this.minute, 2)}:${pad(this.second, 2)}${this.microsecond ? `.${pad(this.microsecond, 6)}` : ''}`;
    return `${date}${sep}${time}`;
  }

  override toString(): string {
    return this.isoformat(' ');
  }

  override repr(): string {
    const parts = [this.year, this.month, this.day, this.hour, this.minute];
    if (this.second || this.microsecond) parts.push(this.second);
    if (this.microsecond) parts.push(this.microsecond);
    return `datetime.datetime(${parts.join(', ')})`;
  }

  getattr(name: string): unknown {
    switch (name) {
      case 'year':
      case 'month':
      case 'day':
      case 'hour':
      case 'minute':
      case 'second':
      case 'microsecond':
        return this[name];
      case 'strftime':
        return new PyMethod('strftime', (args, kwargs) => {
          const { a } = bindArgs({ name: 'strftime', params: ['format'] }, args, kwargs);
          if (typeof a.format !== 'string') throw new PyError('TypeError', `strftime() argument 1 must be str, not ${typeName(a.format)}`);
          return strftime(a.format, this.tm());
        });
      case 'isoformat':
        return new PyMethod('isoformat', (args, kwargs) => {
          const { a } = bindArgs({ name: 'isoformat', params: [['sep', 'T']] }, args, kwargs);
          return this.isoformat(pyStr(a.sep));
        });
      case 'timestamp':
        return new PyMethod('timestamp', (args, kwargs) => {
          bindArgs({ name: 'timestamp', params: [] }, args, kwargs);
          return float(this.local().getTime() / 1000 + (this.microsecond % 1000) / 1e6);
        });
      case 'weekday':
        return new PyMethod('weekday', (args, kwargs) => {
          bindArgs({ name: 'weekday', params: [] }, args, kwargs);
          return (this.tm().wday + 6) % 7;
        });
      case 'isoweekday':
        return new PyMethod('isoweekday', (args, kwargs) => {
          bindArgs({ name: 'isoweekday', params: [] }, args, kwargs);
          return this.tm().wday || 7;
        });
    }
    return undefined;
  }
}

const MONTH_ABBR = MONTHS.map((m) => m.slice(0, 3).toLowerCase());

/**
 * Python's datetime.strptime(string, format) for the directives roles use (%Y %m %d %H %M %S
 * %f %y %b %B %a %A %p %I %j %%); any other directive is refused.
 */
export function strptime(text: string, format: string): PyDatetime {
  let re = '';
  const fields: string[] = [];
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c === '%' && i + 1 < format.length) {
      const k = format[++i]!;
      const g = (pattern: string) => {
        fields.push(k);
        re += `(${pattern})`;
      };
      switch (k) {
        case 'Y':
          g('\\d\\d\\d\\d');
          break;
        case 'm':
          g('1[0-2]|0[1-9]|[1-9]');
          break;
        case 'd':
          g('3[01]|[12]\\d|0[1-9]|[1-9]| [1-9]');
          break;
        case 'H':
          g('2[0-3]|[0-1]\\d|\\d');
          break;
        case 'I':
          g('1[0-2]|0[1-9]|[1-9]');
          break;
        case 'M':
        case 'S':
          g('[0-5]\\d|\\d');
          break;
        case 'f':
          g('[0-9]{1,6}');
          break;
        case 'y':
          g('\\d\\d');
          break;
        case 'j':
          g('36[0-6]|3[0-5]\\d|[12]\\d\\d|0[1-9]\\d|00[1-9]|[1-9]\\d|0[1-9]|[1-9]');
          break;
        case 'b':
          g(MONTH_ABBR.join('|'));
          break;
        case 'B':
          g(MONTHS.map((m) => m.toLowerCase()).join('|'));
          break;
        case 'a':
          g(DAYS.map((d) => d.slice(0, 3).toLowerCase()).join('|'));
          break;
        case 'A':
          g(DAYS.map((d) => d.toLowerCase()).join('|'));
          break;
        case 'p':
          g('am|pm');
          break;
        case '%':
          re += '%';
          break;
        default:
          throw new PyError('NotSupported', `strptime's %${k} directive is not supported by Kiln`);
      }
    } else if (/\s/.test(c)) {
      re += '\\s+';
      while (i + 1 < format.length && /\s/.test(format[i + 1]!)) i++;
    } else re += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  const m = new RegExp(`^(?:${re})`, 'i').exec(text);
  if (!m) throw new PyError('ValueError', `time data ${JSON.stringify(text).replace(/^"|"$/g, "'")} does not match format '${format}'`);
  if (m[0].length !== text.length) throw new PyError('ValueError', `unconverted data remains: ${text.slice(m[0].length)}`);
  let year = 1900;
  let month = 1;
  let day = 1;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let micro = 0;
  let pm: boolean | undefined;
  let hour12: number | undefined;
  let yday: number | undefined;
  fields.forEach((k, idx) => {
    const v = m[idx + 1]!.toLowerCase();
    if (k === 'Y') year = Number(v);
    else if (k === 'y') year = Number(v) + (Number(v) <= 68 ? 2000 : 1900);
    else if (k === 'm') month = Number(v);
    else if (k === 'd') day = Number(v.trim());
    else if (k === 'H') hour = Number(v);
    else if (k === 'I') hour12 = Number(v);
    else if (k === 'M') minute = Number(v);
    else if (k === 'S') second = Number(v);
    else if (k === 'f') micro = Number(v.padEnd(6, '0'));
    else if (k === 'j') yday = Number(v);
    else if (k === 'b') month = MONTH_ABBR.indexOf(v) + 1;
    else if (k === 'B') month = MONTHS.findIndex((x) => x.toLowerCase() === v) + 1;
    else if (k === 'p') pm = v === 'pm';
  });
  if (hour12 !== undefined) hour = pm === undefined ? hour12 : (hour12 % 12) + (pm ? 12 : 0);
  if (yday !== undefined) {
    const d = new Date(Date.UTC(year, 0, yday));
    month = d.getUTCMonth() + 1;
    day = d.getUTCDate();
  }
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCMonth() + 1 !== month || check.getUTCDate() !== day) throw new PyError('ValueError', 'day is out of range for month');
  return new PyDatetime(year, month, day, hour, minute, second, micro);
}
