/** `file`: a directory, an (existing) file, a symlink, an empty file (touch), or nothing (absent). */
import { applyAttrs, attrSchema, describeAttrs, planAttrs, type StatState, statFromKv } from './attrs.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import { defineLegacyModule, type FromSchema } from '../contract.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', minLength: 1, pattern: '^/', description: 'absolute path on the host' },
    state: {
      enum: ['file', 'directory', 'link', 'absent', 'touch'],
      description: 'file: must exist (attributes only); directory: created with parents; link: symlink to src; touch: created empty if missing; absent: removed (recursively)',
    },
    src: { type: 'string', minLength: 1, description: 'link target (state: link)' },
    force: { type: 'boolean', description: 'link: replace an existing non-link path' },
    ...attrSchema,
  },
} as const;

export type FileParams = FromSchema<typeof schema>;

export default defineLegacyModule<FileParams, StatState>({
  name: 'file',
  description: 'Manage a path: directory, file attributes, symlink, touch or absent.',
  schema,
  probe: (p) => `kiln_stat ${q(p.path)}`,
  parse: (out) => statFromKv(parseKv(out.stdout)),
  plan(p, s) {
    const state = p.state ?? 'file';
    const path = p.path;
    switch (state) {
      case 'absent':
        return s.exists ? [{ summary: `remove ${s.type} ${path}` }] : [];
      case 'directory':
        if (!s.exists) return [{ summary: `create directory ${path}${describeAttrs(p)}` }];
        if (s.type !== 'directory') throw new Error(`${path} exists as a ${s.type}, not a directory`);
        return planAttrs(path, p, s);
      case 'file':
        if (!s.exists) throw new Error(`${path} does not exist (state: file only manages attributes; use touch, copy or template to create it)`);
        if (s.type !== 'file') throw new Error(`${path} is a ${s.type}, not a file`);
        return planAttrs(path, p, s);
      case 'touch':
        if (!s.exists) return [{ summary: `create empty file ${path}${describeAttrs(p)}` }];
        return planAttrs(path, p, s);
      case 'link': {
        if (!p.src) throw new Error('state: link needs src');
        if (!s.exists) return [{ summary: `create link ${path} → ${p.src}` }];
        if (s.type !== 'link') {
          if (!p.force) throw new Error(`${path} exists as a ${s.type}; set force: true to replace it with a link`);
          return [{ summary: `replace ${s.type} ${path} with link → ${p.src}` }];
        }
        const out = s.target === p.src ? [] : [{ summary: `retarget link ${path}: ${s.target} → ${p.src}` }];
        return [...out, ...planAttrs(path, { owner: p.owner, group: p.group }, s)];
      }
    }
  },
  apply(p, s) {
    const path = q(p.path);
    const state = p.state ?? 'file';
    const lines = ['set -e'];
    switch (state) {
      case 'absent':
        lines.push(`rm -rf -- ${path}`);
        break;
      case 'directory':
        if (!s.exists) lines.push(`mkdir -p -- ${path}`);
        lines.push(applyAttrs(path, p, s.exists ? s : undefined));
        break;
      case 'file':
        lines.push(applyAttrs(path, p, s));
        break;
      case 'touch':
        if (!s.exists) lines.push(`: > ${path}`);
        lines.push(applyAttrs(path, p, s.exists ? s : undefined));
        break;
      case 'link':
        if (s.exists && s.type === 'directory') lines.push(`rm -rf -- ${path}`);
        if (!s.exists || s.type !== 'link' || s.target !== p.src) {
          // ln -sfn on a temp name, then rename: the link is replaced atomically.
          lines.push(`tmp=${q(`${p.path}.kiln-tmp`)}; ln -sfn ${q(p.src!)} "$tmp"; mv -Tf "$tmp" ${path}`);
        }
        lines.push(applyAttrs(path, { owner: p.owner, group: p.group }, s.type === 'link' ? s : undefined, { noDeref: true }));
        break;
    }
    return lines.filter(Boolean).join('\n');
  },
  describe: (p, s) => ({ path: p.path, ...s }),
});
