/**
 * `file`: a directory, an (existing) file, a symlink, an empty file (touch), or nothing (absent).
 *
 * Invariants: `plan` is pure and pairs every change with a typed `FileOp`; `apply` switches on
 * the ops only. A path it creates (mkdir, touch, a new or replacing link) gets every attribute
 * the task sets; an existing path gets only the attributes that differ (the `AttrOp`s). A link
 * is replaced atomically (`ln -sfn` on a temp name, then rename) and its attributes are set on
 * the link itself (`chown -h`), never on its target.
 */
import { type AttrOp, applyAttrOps, applyAttrs, attrSchema, describeAttrs, planAttrs, type StatState, statFromKv } from './attrs.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineModule, type FromSchema, type Planned } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', minLength: 1, pattern: '^/', description: 'absolute path on the host' },
    state: {
      enum: ['file', 'directory', 'link', 'absent', 'touch'],
      description:
        'file: must exist (attributes only); directory: created with parents; link: symlink to src; touch: created empty if missing; absent: removed (recursively)',
    },
    src: { type: 'string', minLength: 1, description: 'link target (state: link)' },
    force: { type: 'boolean', description: 'link: replace an existing non-link path' },
    ...attrSchema,
  },
} as const;

export type FileParams = FromSchema<typeof schema>;

/** What `file` does: remove, create (with the task's attributes), (re)link, or set attributes. */
export type FileOp =
  | AttrOp
  | { kind: 'remove' }
  | { kind: 'mkdir' }
  | { kind: 'touch' }
  /** Point `path` at `target`; `over` is what is there now (a link being retargeted, a path being replaced). */
  | { kind: 'link'; target: string; over?: NonNullable<StatState['type']> };

export function filePlan(p: FileParams, s: StatState): Planned<FileOp>[] {
  const state = p.state ?? 'file';
  const path = p.path;
  switch (state) {
    case 'absent':
      return s.exists ? [{ summary: `remove ${s.type} ${path}`, op: { kind: 'remove' } }] : [];
    case 'directory':
      if (!s.exists) return [{ summary: `create directory ${path}${describeAttrs(p)}`, op: { kind: 'mkdir' } }];
      if (s.type !== 'directory') throw new Error(`${path} exists as a ${s.type}, not a directory`);
      return planAttrs(path, p, s);
    case 'file':
      if (!s.exists)
        throw new Error(`${path} does not exist (state: file only manages attributes; use touch, copy or template to create it)`);
      if (s.type !== 'file') throw new Error(`${path} is a ${s.type}, not a file`);
      return planAttrs(path, p, s);
    case 'touch':
      if (!s.exists) return [{ summary: `create empty file ${path}${describeAttrs(p)}`, op: { kind: 'touch' } }];
      return planAttrs(path, p, s);
    case 'link': {
      const src = p.src;
      if (!src) throw new Error('state: link needs src');
      if (!s.exists) return [{ summary: `create link ${path} → ${src}`, op: { kind: 'link', target: src } }];
      if (s.type !== 'link') {
        if (!p.force) throw new Error(`${path} exists as a ${s.type}; set force: true to replace it with a link`);
        return [{ summary: `replace ${s.type} ${path} with link → ${src}`, op: { kind: 'link', target: src, over: s.type ?? 'other' } }];
      }
      const out: Planned<FileOp>[] =
        s.target === src
          ? []
          : [{ summary: `retarget link ${path}: ${s.target} → ${src}`, op: { kind: 'link', target: src, over: 'link' } }];
      return [...out, ...planAttrs(path, { owner: p.owner, group: p.group }, s)];
    }
  }
}

export function fileApply(p: FileParams, ops: FileOp[]): string {
  const path = q(p.path);
  // A link's owner and group are the link's own; its mode is its target's business.
  const noDeref = p.state === 'link';
  const wanted = noDeref ? { owner: p.owner, group: p.group } : p;
  const lines = ['set -e'];
  let attrs = applyAttrOps(path, ops, { noDeref });
  const created = () => (attrs = applyAttrs(path, wanted, undefined, { noDeref }));
  for (const op of ops) {
    switch (op.kind) {
      case 'remove':
        lines.push(`rm -rf -- ${path}`);
        break;
      case 'mkdir':
        lines.push(`mkdir -p -- ${path}`);
        created();
        break;
      case 'touch':
        lines.push(`: > ${path}`);
        created();
        break;
      case 'link':
        if (op.over === 'directory') lines.push(`rm -rf -- ${path}`);
        // ln -sfn on a temp name, then rename: the link is replaced atomically.
        lines.push(`tmp=${q(`${p.path}.kiln-tmp`)}; ln -sfn ${q(op.target)} "$tmp"; mv -Tf "$tmp" ${path}`);
        if (op.over !== 'link') created();
        break;
      case 'owner':
      case 'group':
      case 'mode':
        break;
    }
  }
  lines.push(attrs);
  return lines.filter(Boolean).join('\n');
}

export default defineModule<FileParams, StatState, FileOp>({
  name: 'file',
  description: 'Manage a path: directory, file attributes, symlink, touch or absent.',
  schema,
  probe: (p) => `kiln_stat ${q(p.path)}`,
  parse: (out) => statFromKv(parseKv(out.stdout)),
  plan: (p, _prep, s) => filePlan(p, s),
  apply: (p, _prep, _s, ops) => fileApply(p, ops),
  registerData: (p, _prep, s) => ({ path: p.path, ...s }),
});
