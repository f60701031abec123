/**
 * A file with known content: the shared probe/plan/apply of `copy` and `template`.
 *
 * The content is prepared on the controller (`ContentPrep`: the bytes and whether they are
 * sensitive), never put into the user's params. `plan` pairs each change with a `ContentOp`;
 * `contentApply` switches on the ops only. Writes go through `atomicWrite`: a temp file in the
 * destination's directory, owner and mode (an existing file's are kept, a new one is 0644 — 0600
 * when its content holds a secret — the task's own win), the optional `validate` command (`%s` = the temp file), then a rename, so a
 * failed validation or a dropped connection never leaves a half-written file.
 */
import { ACCOUNTS, type Footprint, parentPath, pathResource, type Resource } from '../resources.ts';
import { createTwoFilesPatch } from 'diff';
import { containsSecret, refuseSecretInArgv } from '../../core/secret/secret.ts';
import { type AttrOp, applyAttrOps, attrSchema, describeAttrs, newFileAttrs, planAttrs, type StatState, statFromKv } from './attrs.ts';
import { atomicWrite } from '../../sh/atomic.ts';
import { fromB64Bytes, sha256 } from '../../sh/bytes.ts';
import { parseKv } from '../../sh/kv.ts';
import { q } from '../../sh/quote.ts';
import type { ExecResult, FromSchema, ModuleContext, Planned } from '../contract.ts';

export const DIFF_MAX_BYTES = 256 * 1024;

export const contentSchemaProps = {
  dest: { type: 'string', minLength: 1, pattern: '^/', description: 'absolute path of the file on the host' },
  ...attrSchema,
  validate: {
    type: 'string',
    pattern: '%s',
    description: 'command run on the temp file before it replaces dest; %s is the temp file path',
  },
  backup: { type: 'boolean', description: 'keep a timestamped copy of the old file' },
  force: { type: 'boolean', description: 'replace the file when content differs (default true); false = only create' },
} as const;

const contentParamsSchema = { type: 'object', required: ['dest'], properties: contentSchemaProps } as const;

/** The params copy and template share (each module's own params type extends it). */
export type ContentParams = FromSchema<typeof contentParamsSchema>;

/** Prepared on the controller by copy (inline content or a `src` file) or template (rendered). */
export interface ContentPrep {
  /** Text (inline content, a rendered template) or the exact bytes of a `src` file. */
  content: string | Buffer;
  /** Never show a diff of this content. */
  sensitive: boolean;
}

export interface ContentState {
  stat: StatState;
  sha256?: string;
  current?: Buffer; // present when the content differs and the file is small enough to diff
  parent: boolean;
  validator: boolean;
}

/** What copy/template do: write the whole content (over what is there now), or set attributes. */
export type ContentOp = AttrOp | { kind: 'write'; over: 'nothing' | NonNullable<StatState['type']> };

export function contentProbe(p: ContentParams, prep: ContentPrep, ctx: ModuleContext): string {
  const want = sha256(prep.content);
  const lines = [
    `kiln_stat ${q(p.dest)}`,
    `kiln_content ${q(p.dest)} ${want} ${ctx.diff ? DIFF_MAX_BYTES : 0}`,
    `kiln_dirname ${q(p.dest)}; [ -d "$kiln_d" ] && echo parent=1 || echo parent=0`,
  ];
  const validator = validatorProgram(p.validate);
  if (validator) lines.push(`command -v ${q(validator)} >/dev/null 2>&1 && echo validator=1 || echo validator=0`);
  return lines.join('\n');
}

/** The program a `validate` command runs ("nft" for "nft -c -f %s"). */
function validatorProgram(validate: string | undefined): string | undefined {
  const first = validate?.trim().split(/\s+/)[0];
  return first && /^[\w./+-]+$/.test(first) ? first : undefined;
}

/**
 * The footprint of copy and template (batching): the probe reads dest (and the owner and group
 * names); it also reads whether dest's directory exists and whether the validator is installed,
 * but outside check mode (the only mode that applies, so the only one batched) the plan does not
 * depend on those: they are left out, so that a directory created just before does not stop a
 * batch. The apply writes dest (a backup beside it: its directory). A failure exits non-zero.
 */
export function contentFootprint(p: ContentParams, extraReads: Resource[] = []): Footprint {
  return {
    reads: [pathResource(p.dest), ...ACCOUNTS, ...extraReads],
    writes: [p.backup ? pathResource(parentPath(p.dest), true) : pathResource(p.dest)],
    exitStatusFails: true,
  };
}

export function contentParse(out: ExecResult): ContentState {
  const kv = parseKv(out.stdout);
  return {
    stat: statFromKv(kv),
    sha256: kv.sha256,
    current: kv.content_b64 !== undefined ? fromB64Bytes(kv.content_b64) : undefined,
    parent: kv.parent === '1',
    validator: kv.validator !== '0',
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The text of content, or undefined when it is binary (a NUL byte, or bytes that are not UTF-8). */
function textOf(c: string | Buffer): string | undefined {
  let s: string;
  if (typeof c === 'string') s = c;
  else {
    try {
      s = utf8.decode(c);
    } catch {
      return undefined;
    }
  }
  return s.includes('\u0000') ? undefined : s;
}

/** The `--diff` of a file's content: a unified diff of text, one line for binary content, nothing of a secret. */
export function contentDiff(
  dest: string,
  before: string | Buffer | undefined,
  after: string | Buffer,
  sensitive: boolean,
): string | undefined {
  const asText = (c: string | Buffer) => (typeof c === 'string' ? c : c.toString('latin1') + c.toString('utf8'));
  if (sensitive || containsSecret(asText(after)) || (before !== undefined && containsSecret(asText(before)))) {
    return `(diff of ${dest} hidden: the content contains secrets)\n`;
  }
  const b = textOf(before ?? '');
  const a = textOf(after);
  if (b === undefined || a === undefined) return `Binary files ${dest} (host) and ${dest} (planned) differ\n`;
  return createTwoFilesPatch(`${dest} (host)`, `${dest} (planned)`, b, a, '', '', { context: 3 });
}

/**
 * `validate` is a program and its arguments, and `dest` is an argument of the programs that stat,
 * create and rename the file: a secret in either would be in a remote argv, so it is refused.
 */
export function refuseSecretValidate(p: ContentParams): void {
  refuseSecretInArgv('dest', p.dest, 'the path is an argument of the programs that check and write the file on the host');
  refuseSecretInArgv('validate', p.validate, 'validate runs a program with these arguments on the host; it cannot take a secret');
}

/**
 * A new file whose content holds a secret (or whose task is no_log) and whose task gives no
 * `mode:` is created 0600, not 0644; an existing file keeps its mode, as without a secret.
 */
export function newFileParams<P extends ContentParams>(p: P, prep: ContentPrep): P {
  return prep.sensitive && p.mode === undefined ? { ...p, mode: '0600' } : p;
}

export function contentPlan(p: ContentParams, prep: ContentPrep, s: ContentState, ctx: ModuleContext): Planned<ContentOp>[] {
  const { content, sensitive } = prep;
  const want = sha256(content);
  if (!s.stat.exists) {
    return [
      {
        summary: `create file ${p.dest}${describeAttrs(newFileParams(p, prep))}, ${Buffer.byteLength(content)} bytes`,
        diff: ctx.diff ? contentDiff(p.dest, '', content, sensitive) : undefined,
        // Dry run with no parent directory yet, or without the program that validates this file:
        // an earlier task (a package) creates them, maybe with its own version of this file
        // (nftables ships /etc/nftables.conf), so "create" may really be "update".
        ...(ctx.check && (!s.parent || !s.validator) ? { unpredictable: true } : {}),
        op: { kind: 'write', over: 'nothing' },
      },
    ];
  }
  if (s.stat.type !== 'file') {
    return [{ summary: `replace ${s.stat.type} ${p.dest} with a file`, op: { kind: 'write', over: s.stat.type ?? 'other' } }];
  }
  const out: Planned<ContentOp>[] = [];
  if (s.sha256 !== want && p.force !== false) {
    let diff: string | undefined;
    if (ctx.diff) {
      diff =
        s.current !== undefined
          ? contentDiff(p.dest, s.current, content, sensitive)
          : `(diff of ${p.dest} not shown: the host's file is larger than ${DIFF_MAX_BYTES} bytes)\n`;
    }
    out.push({ summary: `update content of ${p.dest}`, diff, op: { kind: 'write', over: 'file' } });
  }
  return [...out, ...planAttrs(p.dest, p, s.stat)];
}

export function contentApply(p: ContentParams, prep: ContentPrep, ops: ContentOp[]): string {
  const write = ops.find((o) => o.kind === 'write');
  // Only attributes differ: set them on the file in place.
  if (!write) return `set -e\n${applyAttrOps(q(p.dest), ops)}`;
  const lines = atomicWrite({
    dest: p.dest,
    bytes: prep.content,
    // The whole file is replaced: the task's attributes go on the temp file, the attribute ops are included.
    ...newFileAttrs(write.over === 'file' ? p : newFileParams(p, prep), write.over === 'file'),
    validate: p.validate,
    backup: p.backup,
  });
  return ['set -e', ...lines].join('\n');
}

/** register data of copy and template. */
export function contentRegisterData(p: ContentParams, s: ContentState): Record<string, unknown> {
  return { dest: p.dest, ...s.stat };
}
