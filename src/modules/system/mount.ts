/**
 * `mount`: an fstab entry and the running mount, as ansible.posix.mount (the `ansible` 7.7
 * collection) does it on Linux.
 *
 * The probe returns the fstab (base64), whether the path is a mount point (`mountpoint -q`, Python's
 * os.path.ismount), /proc/self/mountinfo (bind mounts: Ansible's get_linux_mounts, ported) and what
 * findmnt reports for the path. The fstab edit is a port of Ansible's `_set_mount_save_old` and
 * `unset_mount` (pure: `setMount`, `unsetMount`): the entry is matched by its mount point, fields
 * are escaped (\040 for a space, \046 for &, \134 for \), a changed entry is rewritten whole and a
 * new one appended. The running state follows Ansible's rules: `mounted` mounts the path when it is
 * not mounted and remounts it when the fstab entry changed; `unmounted` unmounts; `absent` removes
 * the entry and, if there was one, unmounts and removes the directory; `remounted` always remounts
 * (an action); `ephemeral` mounts without touching the fstab (and remounts, an action, when the
 * same source is already mounted). The fstab is replaced atomically.
 */
import { contentDiff } from '../files/content.ts';
import { atomicWrite } from '../../sh/atomic.ts';
import { fromB64, writeBytes } from '../../sh/bytes.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['path', 'state'],
  properties: {
    path: { type: 'string', pattern: '^/', description: "the mount point (absolute); Ansible's alias: name" },
    src: {
      type: 'string',
      minLength: 1,
      description: 'the device, file system or directory mounted (required for mounted, present, ephemeral)',
    },
    fstype: {
      type: 'string',
      minLength: 1,
      description: 'file system type, e.g. ext4, tmpfs, none (bind mounts); required for mounted, present, ephemeral',
    },
    opts: { type: 'string', minLength: 1, description: 'mount options (default "defaults"), e.g. "bind" or "size=64m,mode=0755"' },
    dump: { type: 'string', pattern: '^\\S+$', description: 'the fstab dump field (default "0")' },
    passno: { type: 'string', pattern: '^\\S+$', description: 'the fstab pass field (default "0")' },
    state: {
      enum: ['mounted', 'present', 'unmounted', 'absent', 'absent_from_fstab', 'remounted', 'ephemeral'],
      description:
        'mounted: in fstab and mounted (mounted now; remounted when the entry changed); present: in fstab only; unmounted: not mounted (fstab untouched); absent: out of fstab, unmounted and the directory removed; absent_from_fstab: out of fstab only; remounted: remount now (always a change); ephemeral: mounted without any fstab entry',
    },
    fstab: { type: 'string', pattern: '^/', description: 'the fstab file (default /etc/fstab); another file is passed to mount with -T' },
    boot: {
      type: 'boolean',
      description: 'mount at boot (default true); false adds noauto to opts (unless opts has defaults, as in Ansible)',
    },
    backup: { type: 'boolean', description: 'keep a timestamped copy of the fstab before changing it' },
  },
} as const;

export type MountParams = FromSchema<typeof schema>;

export interface MountState {
  fstab: string;
  fstabExists: boolean;
  sha256: string;
  /** os.path.ismount(path). */
  isMount: boolean;
  pathExists: boolean;
  /** Ansible's linux_mounts: mount point → source (a bind mount's source directory) and type. */
  mounts: Map<string, { src: string; fs: string; opts: string }>;
  /** findmnt's view of the path when it is mounted: source, type, options. */
  findmnt?: string;
}

export type MountOp =
  | { kind: 'fstab'; content: string; before: string; expect: { sha256: string } | 'absent' }
  | { kind: 'mkdir' }
  | { kind: 'mount' }
  | { kind: 'remount' }
  | { kind: 'umount' }
  | { kind: 'rmdir' };

/** Ansible's args after defaults: the fstab entry wanted (unescaped), plus boot and warnings. */
export interface MountArgs {
  name: string;
  src?: string;
  fstype?: string;
  opts: string;
  dump: string;
  passno: string;
  fstab: string;
  boot: 'yes' | 'no';
  warnings: string[];
}

export function mountArgs(p: MountParams): MountArgs {
  const a: MountArgs = {
    name: p.path,
    opts: p.opts ?? 'defaults',
    dump: p.dump ?? '0',
    passno: p.passno ?? '0',
    fstab: p.fstab ?? '/etc/fstab',
    boot: 'yes',
    warnings: [],
  };
  if (p.src !== undefined) a.src = p.src;
  if (p.fstype !== undefined) a.fstype = p.fstype;
  const opts = a.opts.split(',');
  if (opts.includes('noauto')) a.warnings.push("Ignore the 'boot' due to 'opts' contains 'noauto'.");
  else if (p.boot === false) {
    a.boot = 'no';
    if (opts.includes('defaults')) a.warnings.push("Ignore the 'boot' due to 'opts' contains 'defaults'.");
    else a.opts = [...opts, 'noauto'].join(',');
  }
  return a;
}

export const escapeFstab = (v: string) => v.replace(/\\/g, '\\134').replace(/ /g, '\\040').replace(/&/g, '\\046');

const readlines = (s: string) => s.match(/[^\n]*\n|[^\n]+$/g) ?? [];
const pySplit = (s: string) => s.split(/[ \t\n\r\v\f]+/).filter((x) => x !== '');

/** Ansible's _set_mount_save_old: the new fstab and whether it changed. */
export function setMount(a: MountArgs, fstab: string): { content: string; changed: boolean } {
  const e = {
    src: escapeFstab(a.src ?? ''),
    name: escapeFstab(a.name),
    fstype: escapeFstab(a.fstype ?? ''),
    opts: escapeFstab(a.opts),
    dump: escapeFstab(a.dump),
    passno: escapeFstab(a.passno),
  };
  const out: string[] = [];
  let exists = false;
  let changed = false;
  const fmt = (d: typeof e) => `${d.src} ${d.name} ${d.fstype} ${d.opts} ${d.dump} ${d.passno}\n`;
  for (let line of readlines(fstab)) {
    if (!line.endsWith('\n')) line += '\n';
    if (!line.trim() || line.trim().startsWith('#')) {
      out.push(line);
      continue;
    }
    const f = pySplit(line);
    if (![4, 5, 6].includes(f.length)) {
      out.push(line);
      continue;
    }
    // A missing dump/passno is Python's int 0, never equal to a string: the line is rewritten.
    const ld = { src: f[0], name: f[1], fstype: f[2], opts: f[3], dump: f[4] ?? '\0', passno: f[5] ?? '\0' };
    if (ld.name !== e.name || (a.src !== undefined && ld.name === 'none' && ld.fstype === 'swap' && ld.src !== a.src)) {
      out.push(line);
      continue;
    }
    exists = true;
    for (const t of ['src', 'fstype', 'opts', 'dump', 'passno'] as const) {
      if (ld[t] !== e[t]) {
        ld[t] = e[t];
        changed = true;
      }
    }
    out.push(changed ? fmt(ld) : line);
  }
  if (!exists) {
    out.push(fmt(e));
    changed = true;
  }
  return { content: out.join(''), changed };
}

/** Ansible's unset_mount: the fstab without the path's entries (6-field lines only). */
export function unsetMount(a: MountArgs, fstab: string): { content: string; changed: boolean } {
  const name = escapeFstab(a.name);
  const out: string[] = [];
  let changed = false;
  for (const line of readlines(fstab)) {
    const f = pySplit(line);
    if (!line.trim() || line.trim().startsWith('#') || f.length !== 6) {
      out.push(line);
      continue;
    }
    if (f[1] !== name || (a.src !== undefined && f[1] === 'none' && f[2] === 'swap' && f[0] !== a.src)) {
      out.push(line);
      continue;
    }
    changed = true;
  }
  return { content: out.join(''), changed };
}

/** Ansible's get_linux_mounts over /proc/self/mountinfo. */
export function linuxMounts(mountinfo: string): Map<string, { src: string; fs: string; opts: string }> {
  interface Rec {
    id: number;
    parent: number;
    root: string;
    dst: string;
    opts: string;
    fs: string;
    src: string;
  }
  const info = new Map<number, Rec>();
  for (const line of mountinfo.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 7) continue;
    info.set(Number(f[0]), { id: Number(f[0]), parent: Number(f[1]), root: f[3], dst: f[4], opts: f[5], fs: f.at(-3)!, src: f.at(-2)! });
  }
  const mounts = new Map<string, { src: string; fs: string; opts: string }>();
  for (const m of info.values()) {
    let src: string;
    const parent = info.get(m.parent);
    if (m.parent !== 1 && parent) {
      if (parent.root.length > 1 && m.root.startsWith(`${parent.root}/`)) m.root = m.root.slice(parent.root.length);
      if (parent.dst !== '/') m.root = `${parent.dst}${m.root}`;
      src = m.root;
    } else src = m.src;
    mounts.set(m.dst, { src, fs: m.fs, opts: m.opts });
  }
  return mounts;
}

export function mountProbe(p: MountParams): string {
  const a = mountArgs(p);
  return [
    `f=${q(a.fstab)}; m=${q(p.path)}`,
    'if [ -f "$f" ]; then echo fstab=1; echo "sha256=$(sha256sum < "$f" | cut -d\' \' -f1)"; printf \'fstab_b64=\'; base64 -w0 < "$f"; echo',
    'else echo fstab=0; fi',
    '[ -e "$m" ] && echo exists=1 || echo exists=0',
    'mountpoint -q -- "$m" 2>/dev/null && echo ismount=1 || echo ismount=0',
    "printf 'mountinfo_b64='; base64 -w0 < /proc/self/mountinfo; echo",
    'printf \'findmnt=\'; findmnt -rn -o SOURCE,FSTYPE,OPTIONS --mountpoint "$m" 2>/dev/null | head -n1; echo',
  ].join('\n');
}

export function mountParse(out: ExecResult): MountState {
  const kv = parseKv(out.stdout);
  return {
    fstab: fromB64(kv.fstab_b64),
    fstabExists: kv.fstab === '1',
    sha256: kv.sha256 ?? '',
    isMount: kv.ismount === '1',
    pathExists: kv.exists === '1',
    mounts: linuxMounts(fromB64(kv.mountinfo_b64)),
    findmnt: kv.findmnt?.trim() || undefined,
  };
}

/** Ansible's "is it mounted" for mounted/ephemeral: ismount, or a bind mount of src at the path. */
function mountedHere(a: MountArgs, s: MountState, src?: string): boolean {
  if (s.isMount) return true;
  const m = s.mounts.get(a.name);
  return m !== undefined && (src === undefined || m.src === src);
}

export function checkMountParams(p: MountParams): void {
  if (['mounted', 'present', 'ephemeral'].includes(p.state) && (p.src === undefined || p.fstype === undefined))
    throw new Error(
      `state is ${p.state} but all of the following are missing: ${[p.src === undefined ? 'src' : '', p.fstype === undefined ? 'fstype' : ''].filter(Boolean).join(', ')}`,
    );
}

export function mountPlan(p: MountParams, s: MountState, ctx: ModuleContext): Planned<MountOp>[] {
  const a = mountArgs(p);
  const out: Planned<MountOp>[] = [];
  const fstabChange = (r: { content: string; changed: boolean }, summary: string) => {
    if (!r.changed) return false;
    out.push({
      summary,
      diff: ctx.diff ? contentDiff(a.fstab, s.fstab, r.content, false) : undefined,
      op: { kind: 'fstab', content: r.content, before: s.fstab, expect: s.fstabExists ? { sha256: s.sha256 } : 'absent' },
    });
    return true;
  };
  const entry = `${a.src} ${a.name} ${a.fstype} ${a.opts}`;
  switch (p.state) {
    case 'present':
      fstabChange(setMount(a, s.fstab), `fstab entry for ${a.name}: ${entry}`);
      break;
    case 'absent_from_fstab':
      fstabChange(unsetMount(a, s.fstab), `remove ${a.name} from ${a.fstab}`);
      break;
    case 'absent':
      if (fstabChange(unsetMount(a, s.fstab), `remove ${a.name} from ${a.fstab}`)) {
        if (mountedHere(a, s)) out.push({ summary: `unmount ${a.name}`, op: { kind: 'umount' } });
        if (s.pathExists) out.push({ summary: `remove the directory ${a.name}`, op: { kind: 'rmdir' } });
      }
      break;
    case 'unmounted':
      if (mountedHere(a, s)) out.push({ summary: `unmount ${a.name}`, op: { kind: 'umount' } });
      break;
    case 'remounted':
      out.push({ summary: `remount ${a.name}`, op: { kind: 'remount' }, action: true });
      break;
    case 'mounted': {
      if (!s.pathExists) out.push({ summary: `create the directory ${a.name}`, op: { kind: 'mkdir' } });
      const changed = fstabChange(setMount(a, s.fstab), `fstab entry for ${a.name}: ${entry}`);
      if (mountedHere(a, s, a.src)) {
        if (changed) out.push({ summary: `remount ${a.name} with the new entry`, op: { kind: 'remount' } });
      } else out.push({ summary: `mount ${a.src} on ${a.name} (${a.fstype}, ${a.opts})`, op: { kind: 'mount' } });
      break;
    }
    case 'ephemeral': {
      if (!s.pathExists) out.push({ summary: `create the directory ${a.name}`, op: { kind: 'mkdir' } });
      if (mountedHere(a, s, a.src)) {
        const m = s.mounts.get(a.name);
        const same = m ? m.src === a.src : false;
        if (!same && !(s.isMount && s.findmnt?.split(' ')[0] === a.src))
          throw new Error(
            'Ephemeral mount point is already mounted with a different source than the specified one. Failing in order to prevent an unwanted unmount or override operation. Try replacing this command with a "state: unmounted" followed by a "state: ephemeral", or use a different destination path.',
          );
        out.push({ summary: `remount ${a.name} (ephemeral)`, op: { kind: 'remount' }, action: true });
      } else out.push({ summary: `mount ${a.src} on ${a.name} (${a.fstype}, ${a.opts}; not in fstab)`, op: { kind: 'mount' } });
      break;
    }
  }
  return out;
}

function mountCmd(p: MountParams, a: MountArgs): string {
  if (p.state === 'ephemeral')
    return `mount -t ${q(a.fstype ?? '')}${a.opts !== 'defaults' ? ` -o ${q(a.opts)}` : ''} ${q(a.src ?? '')} ${q(a.name)}`;
  return `mount${a.fstab !== '/etc/fstab' ? ` -T ${q(a.fstab)}` : ''} ${q(a.name)}`;
}

export function mountApply(p: MountParams, ops: MountOp[]): string {
  const a = mountArgs(p);
  const lines = ['set -e', `m=${q(a.name)}`];
  const fstabOp = ops.find((o): o is Extract<MountOp, { kind: 'fstab' }> => o.kind === 'fstab');
  // On a failed mount the fstab is put back as it was (Ansible's write_fstab of backup_lines).
  const restore = fstabOp ? `{ ${writeBytes(q(a.fstab), fstabOp.before).trimEnd()}\n}` : ':';
  for (const op of ops) {
    switch (op.kind) {
      case 'mkdir':
        lines.push('mkdir -p -- "$m"');
        break;
      case 'fstab':
        lines.push(
          ...atomicWrite({
            dest: a.fstab,
            bytes: op.content,
            parent: 'create',
            expect: op.expect,
            keepAttrs: op.expect !== 'absent',
            attrs: op.expect === 'absent' ? { mode: '0644' } : undefined,
            backup: p.backup,
          }),
        );
        break;
      case 'mount':
        lines.push(
          `if ! out=$(${mountCmd(p, a)} 2>&1); then ${p.state !== 'ephemeral' ? restore : ':'}; echo "Error mounting $m: $out" >&2; exit 1; fi`,
        );
        break;
      case 'remount': {
        const opts = p.state === 'remounted' && a.opts !== 'defaults' ? `remount,${a.opts}` : 'remount';
        const tab = p.state !== 'ephemeral' && a.fstab !== '/etc/fstab' ? ` -T ${q(a.fstab)}` : '';
        const eph =
          p.state === 'ephemeral' ? ` -t ${q(a.fstype ?? '')}${a.opts !== 'defaults' ? ` -o ${q(a.opts)}` : ''} ${q(a.src ?? '')}` : '';
        const strict = p.state === 'remounted' && a.opts !== 'defaults';
        lines.push(
          `if ! out=$(mount -o ${q(opts)}${tab}${eph} "$m" 2>&1); then`,
          strict
            ? '  echo \'Options were specified with remounted, but the remount command failed. Failing in order to prevent an unexpected mount result. Try replacing this command with a "state: unmounted" followed by a "state: mounted" using the full desired mount options instead.\' >&2; exit 1'
            : `  if ! out=$(umount "$m" 2>&1) || ! out=$(${mountCmd(p, a)} 2>&1); then ${p.state === 'mounted' ? restore : ':'}; echo "Error ${p.state === 'remounted' ? 'remounting' : 'mounting'} $m: $out" >&2; exit 1; fi`,
          'fi',
        );
        break;
      }
      case 'umount':
        lines.push('if ! out=$(umount "$m" 2>&1); then echo "Error unmounting $m: $out" >&2; exit 1; fi');
        break;
      case 'rmdir':
        lines.push('if [ -e "$m" ] && ! out=$(rmdir -- "$m" 2>&1); then echo "Error rmdir $m: $out" >&2; exit 1; fi');
        break;
    }
  }
  return lines.join('\n');
}

export default defineModule<MountParams, MountState, MountOp, undefined>({
  name: 'mount',
  description: 'Manage an fstab entry and the running mount (ansible.posix.mount): tmpfs, bind mounts, devices.',
  schema,
  prepare: (p) => {
    checkMountParams(p);
    return undefined;
  },
  probe: (p) => mountProbe(p),
  parse: (out) => mountParse(out),
  plan: (p, _prep, s, ctx) => mountPlan(p, s, ctx),
  apply: (p, _prep, _s, ops) => mountApply(p, ops),
  registerData: (p) => {
    const { warnings, ...a } = mountArgs(p);
    return { ...a, ...(warnings.length ? { warnings } : {}), backup_file: '' };
  },
  note: (p, _prep, s) => (['mounted', 'ephemeral', 'remounted'].includes(p.state) && s.findmnt ? `mounted: ${s.findmnt}` : undefined),
});
