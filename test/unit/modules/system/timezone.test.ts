import { describe, expect, it } from 'vitest';
import { timezoneApply, timezoneParse, timezonePlan, timezoneProbe, zoneOfLink } from '../../../../src/modules/system/timezone.ts';
import { shSyntax } from '../helpers.ts';

const out = (stdout: string) => ({ stdout, stderr: '', code: 0 });
const sd = (zone: string, link = zone, file: string | null = zone, rtc = 'no') =>
  timezoneParse(
    out(
      `timedatectl=1\nzone=${zone}\nlocalrtc=${rtc}\nlink=../usr/share/zoneinfo/${link}\n${file !== null ? `tzfile=${file}\ntzsha=abc\n` : ''}zone_exists=1\n`,
    ),
  );

describe('timezone plan', () => {
  it('reads the link the way tzdata and timedated write it', () => {
    expect(zoneOfLink('../usr/share/zoneinfo/Europe/Paris')).toBe('Europe/Paris');
    expect(zoneOfLink('/usr/share/zoneinfo/Etc/UTC')).toBe('Etc/UTC');
    expect(zoneOfLink('/etc/whatever')).toBe('');
  });
  it('converged', () => {
    expect(timezonePlan({ name: 'Europe/Paris' }, sd('Europe/Paris'))).toEqual([]);
    expect(timezonePlan({ hwclock: 'UTC' }, sd('Etc/UTC'))).toEqual([]);
  });
  it('zone and /etc/timezone with timedatectl', () => {
    const p = timezonePlan({ name: 'Europe/Paris' }, sd('Etc/UTC'));
    expect(p.map((c) => c.summary)).toEqual([
      'time zone Etc/UTC → Europe/Paris (timedatectl set-timezone)',
      '/etc/timezone: Etc/UTC → Europe/Paris',
    ]);
    const sh = timezoneApply(
      { name: 'Europe/Paris' },
      p.map((c) => c.op),
    );
    expect(sh).toContain("timedatectl set-timezone 'Europe/Paris'");
    expect(sh).toContain("dest='/etc/timezone'");
    expect(shSyntax(sh)).toBe('');
  });
  it('only /etc/timezone drifted; a missing /etc/timezone is created', () => {
    expect(timezonePlan({ name: 'Etc/UTC' }, sd('Etc/UTC', 'Etc/UTC', 'Europe/Paris')).map((c) => c.op.kind)).toEqual(['timezone-file']);
    const p = timezonePlan({ name: 'Etc/UTC' }, sd('Etc/UTC', 'Etc/UTC', null));
    expect(p.map((c) => c.op)).toEqual([{ kind: 'timezone-file', expect: undefined }]);
  });
  it('a link that disagrees with what timedatectl reports is replaced', () => {
    const p = timezonePlan({ name: 'Etc/UTC' }, sd('Etc/UTC', 'Europe/Paris'));
    expect(p.map((c) => c.op.kind)).toEqual(['zone']);
    expect(
      timezoneApply(
        { name: 'Etc/UTC' },
        p.map((c) => c.op),
      ),
    ).toContain('mv -Tf /etc/.localtime.kiln /etc/localtime');
  });
  it('without timedatectl: the link; hwclock refused there', () => {
    const s = timezoneParse(out('timedatectl=0\nlink=/usr/share/zoneinfo/Etc/UTC\ntzfile=Etc/UTC\ntzsha=a\nzone_exists=1\n'));
    const p = timezonePlan({ name: 'Asia/Tokyo' }, s);
    expect(p[0].op).toEqual({ kind: 'zone', timedatectl: false });
    expect(
      timezoneApply(
        { name: 'Asia/Tokyo' },
        p.map((c) => c.op),
      ),
    ).not.toContain('timedatectl');
    expect(() => timezonePlan({ hwclock: 'local' }, s)).toThrow(/hwclock needs timedatectl/);
  });
  it('hwclock with timedatectl; unknown zone refused', () => {
    const p = timezonePlan({ hwclock: 'local' }, sd('Etc/UTC'));
    expect(p.map((c) => c.op)).toEqual([{ kind: 'hwclock', local: true }]);
    expect(
      timezoneApply(
        { hwclock: 'local' },
        p.map((c) => c.op),
      ),
    ).toContain('timedatectl set-local-rtc yes');
    const missing = timezoneParse(out('timedatectl=1\nzone=Etc/UTC\nzone_exists=0\n'));
    expect(() => timezonePlan({ name: 'Mars/Base' }, missing)).toThrow('given timezone "Mars/Base" is not available');
  });
  it('the probe parses as sh', () => {
    expect(shSyntax(timezoneProbe({ name: 'Europe/Paris' }))).toBe('');
  });
});
