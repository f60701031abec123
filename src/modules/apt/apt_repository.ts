/**
 * `apt_repository`: one one-line-style apt source (`deb …` / `deb-src …`), as Ansible's module:
 * the same files read (/etc/apt/sources.list and /etc/apt/sources.list.d/*.list), the same
 * matching (whitespace-normalised source, comments after `#` kept apart), the same file name
 * (`filename` + `.list`, or one derived from the URI: `deb http://dl.google.com/linux/chrome/deb/
 * stable main` → dl_google_com_linux_chrome_deb.list) and the same line format.
 *
 * present: a disabled (`# deb …`) copy of the source anywhere is enabled; else the line is appended
 * to its file. absent: every enabled copy is removed, and a file left with no line is deleted.
 * After a change the cache is updated (update_cache, default true, with Ansible's retries); if the
 * update fails the source files are put back as they were and the task fails.
 *
 * Unlike Ansible, lines the task does not touch keep their bytes (Ansible rewrites every source
 * file it read in its own normalised form whenever it changes one).
 */
import { contentDiff } from '../files/content.ts';
import { normMode } from '../files/attrs.ts';
import { defineModule, type ExecResult, type FromSchema, type ModuleContext, type Planned } from '../contract.ts';
import { type SourceFile, type SourceFileOp, SOURCES_DIR, SOURCES_LIST, sourcesApply, sourcesParse, sourcesProbe } from './sources.ts';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['repo'],
  properties: {
    repo: {
      type: 'string',
      pattern: '^\\s*(deb|deb-src|ppa:)',
      description:
        'the source line, e.g. "deb [signed-by=/etc/apt/keyrings/vendor.asc] https://vendor.example/debian bookworm main" (whitespace is normalised before comparing; ppa: repositories are Ubuntu Launchpad archives and are refused)',
    },
    state: {
      enum: ['present', 'absent'],
      description: 'present (default): the source is enabled; absent: every enabled copy of it is removed',
    },
    filename: {
      type: 'string',
      pattern: '^[^/]+$',
      description:
        'file name in /etc/apt/sources.list.d without the .list extension, which is always added (Ansible: "foo.list" becomes foo.list.list); default: derived from the URI',
    },
    mode: {
      type: ['string', 'integer'],
      pattern: '^0?[0-7]{3,4}$',
      minimum: 0,
      maximum: 0o7777,
      description: 'octal mode of the file the line is added to (default: a new file is 0644, an existing one keeps its mode)',
    },
    update_cache: {
      type: 'boolean',
      description: 'run apt-get update after a change (default true, as in Ansible); a failed update puts the source files back and fails',
    },
    update_cache_retries: {
      type: 'integer',
      minimum: 1,
      description: 'attempts at the cache update (default 5)',
    },
    update_cache_retry_max_delay: {
      type: 'integer',
      minimum: 0,
      description: 'longest wait between attempts, seconds (default 12); the waits double from 1 s',
    },
    codename: {
      type: 'string',
      description:
        'Ansible uses it only for ppa: repositories (which Kiln refuses): accepted and, as in Ansible, without effect on a deb line',
    },
    validate_certs: {
      type: 'boolean',
      description:
        "Ansible uses it only to fetch a ppa: repository's key from Launchpad: accepted and, as in Ansible, without effect on a deb line",
    },
    install_python_apt: {
      type: 'boolean',
      description:
        "Kiln's apt_repository needs no python3-apt on the host: false is accepted; true (Ansible's default, which installs python3-apt when it is missing) is refused: install python3-apt with apt if the host needs it",
    },
  },
} as const;

export type AptRepositoryParams = FromSchema<typeof schema>;

export interface AptRepositoryState {
  files: SourceFile[];
}

export type AptRepositoryOp = SourceFileOp | { kind: 'update-cache' };

const VALID_SOURCE_TYPES = ['deb', 'deb-src'];

interface Line {
  valid: boolean;
  enabled: boolean;
  source: string;
  comment: string;
}

/** Ansible's SourcesList._parse. */
export function parseLine(raw: string): Line {
  let line = raw.trim();
  let enabled = true;
  let comment = '';
  if (line.startsWith('#')) {
    enabled = false;
    line = line.slice(1);
  }
  const i = line.indexOf('#');
  if (i > 0) {
    comment = line.slice(i + 1).trim();
    line = line.slice(0, i);
  }
  let source = line.trim();
  let valid = false;
  if (source) {
    const chunks = source.split(/\s+/);
    if (VALID_SOURCE_TYPES.includes(chunks[0])) {
      valid = true;
      source = chunks.join(' ');
    }
  }
  return { valid, enabled, source, comment };
}

/** Ansible's line format: `# ` for a disabled source, ` # comment` after it. */
export function formatLine(l: Line): string {
  return `${l.enabled ? '' : '# '}${l.source}${l.comment ? ` # ${l.comment}` : ''}`;
}

/** Ansible's _suggest_filename. */
export function suggestFilename(source: string, filename?: string): string {
  if (filename !== undefined) return `${filename}.list`;
  let line = source.replace(/\[[^\]]+\]/g, '').replace(/\w+:\/\//g, '');
  const parts = line.split(/\s+/).filter((p) => p && !VALID_SOURCE_TYPES.includes(p));
  let first = parts[0] ?? '';
  if (first.includes('@')) first = first.slice(first.indexOf('@') + 1);
  line = first.replace(/[^a-zA-Z0-9]/g, ' ');
  return `${line.split(/\s+/).filter(Boolean).join('_')}.list`;
}

/** The source as Ansible compares it (prepare: a bad repo line is refused before any host is contacted). */
export function wantedSource(p: AptRepositoryParams): string {
  if (p.install_python_apt === true)
    throw new Error(
      "install_python_apt: true is refused: Kiln's apt_repository needs no python3-apt and never installs it (Ansible would install it on the host when missing); drop the option, or install python3-apt with the package module",
    );
  const repo = p.repo.trim();
  if (/^ppa:/.test(repo))
    throw new Error(
      `repo ${JSON.stringify(repo)}: ppa: repositories are Ubuntu Launchpad archives (Kiln targets Debian); give the deb line, and the key as a keyring (signed-by=)`,
    );
  const l = parseLine(repo);
  if (!l.valid || !l.enabled) throw new Error(`Invalid repository string: ${repo}`);
  return l.source;
}

function lines(content: string): string[] {
  if (content === '') return [];
  return content.replace(/\n$/, '').split('\n');
}

export function aptRepositoryProbe(): string {
  return [sourcesProbe([SOURCES_LIST, `${SOURCES_DIR}/*.list`]), 'true'].join('\n');
}

export function aptRepositoryPlan(
  p: AptRepositoryParams,
  source: string,
  s: AptRepositoryState,
  ctx: ModuleContext,
): Planned<AptRepositoryOp>[] {
  const state = p.state ?? 'present';
  const newContent = new Map<string, string>();
  const summaries: string[] = [];
  /** The file a line is appended to: the only one `mode` applies to (Ansible's new_repos). */
  let appendedTo: string | undefined;
  if (state === 'present') {
    let found = false;
    for (const f of s.files) {
      const ls = lines(f.content);
      let touched = false;
      ls.forEach((raw, n) => {
        const l = parseLine(raw);
        if (!l.valid || l.source !== source) return;
        found = true;
        if (!l.enabled) {
          ls[n] = formatLine({ ...l, enabled: true });
          touched = true;
        }
      });
      if (touched) {
        newContent.set(f.path, `${ls.join('\n')}\n`);
        summaries.push(`enable ${source} in ${f.path}`);
      }
    }
    if (!found) {
      const path = `${SOURCES_DIR}/${suggestFilename(source, p.filename)}`;
      const f = s.files.find((x) => x.path === path);
      const before = f?.content ?? '';
      newContent.set(path, `${before}${before === '' || before.endsWith('\n') ? '' : '\n'}${source}\n`);
      appendedTo = path;
      summaries.push(`${f ? 'add' : `create ${path} with`} ${source}${f ? ` to ${path}` : ''}`);
    }
  } else {
    for (const f of s.files) {
      const ls = lines(f.content);
      const kept = ls.filter((raw) => {
        const l = parseLine(raw);
        return !(l.valid && l.enabled && l.source === source);
      });
      if (kept.length === ls.length) continue;
      newContent.set(f.path, kept.length ? `${kept.join('\n')}\n` : '');
      summaries.push(kept.length ? `remove ${source} from ${f.path}` : `remove ${source}: delete ${f.path} (no line left)`);
    }
  }
  const mode = normMode(p.mode);
  const out: Planned<AptRepositoryOp>[] = [];
  let i = 0;
  for (const [path, after] of newContent) {
    const f = s.files.find((x) => x.path === path);
    const diff = ctx.diff ? contentDiff(path, f?.content ?? '', after, false) : undefined;
    const op: SourceFileOp =
      after === '' && f
        ? { kind: 'delete', path, expect: f.sha256 }
        : { kind: 'write', path, content: after, expect: f?.sha256, mode: path === appendedTo ? mode : undefined };
    out.push({ summary: summaries[i++], diff, op });
  }
  if (out.length && p.update_cache !== false) out.push({ summary: 'update apt cache', op: { kind: 'update-cache' } });
  return out;
}

export function aptRepositoryApply(p: AptRepositoryParams, ops: readonly AptRepositoryOp[]): string {
  const files = ops.filter((o): o is SourceFileOp => o.kind !== 'update-cache');
  const update = ops.some((o) => o.kind === 'update-cache')
    ? { retries: p.update_cache_retries ?? 5, maxDelay: p.update_cache_retry_max_delay ?? 12 }
    : undefined;
  return sourcesApply(files, update);
}

export default defineModule<AptRepositoryParams, AptRepositoryState, AptRepositoryOp, string>({
  name: 'apt_repository',
  description:
    "Add or remove a one-line apt source (deb/deb-src) in /etc/apt/sources.list.d/NAME.list, named and formatted as Ansible's apt_repository, then update the apt cache.",
  schema,
  prepare: (p) => wantedSource(p),
  probe: () => aptRepositoryProbe(),
  parse: (out: ExecResult): AptRepositoryState => ({ files: sourcesParse(out.stdout) }),
  plan: (p, source, s, ctx) => aptRepositoryPlan(p, source, s, ctx),
  apply: (p, _prep, _s, ops) => aptRepositoryApply(p, ops),
  registerData: (p) => ({ repo: p.repo, state: p.state ?? 'present' }),
});
