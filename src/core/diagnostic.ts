/**
 * Located diagnostics. Every input error Kiln reports carries `file:line:col`, and the
 * validator collects all of them before reporting, so a user fixes a whole batch at once.
 */
export interface Loc {
  file: string;
  line: number; // 1-based
  col: number; // 1-based
}

export interface Diagnostic extends Partial<Loc> {
  file: string;
  message: string;
  /** The undefined variable that caused it, when one did (`x` or `x.attr`): validation defers a task whose only problem is a name known at run time. */
  undefinedName?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line ? `${d.file}:${d.line}:${d.col ?? 1}` : d.file;
  return `${where}: ${d.message}`;
}

/** Thrown for invalid input (exit code 2). Holds one or more located diagnostics. */
export class InputError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[] | Diagnostic) {
    const list = Array.isArray(diagnostics) ? diagnostics : [diagnostics];
    super(list.map(formatDiagnostic).join('\n'));
    this.name = 'InputError';
    this.diagnostics = list;
  }
}

/** Collects diagnostics without duplicates (the same problem found for many hosts is reported once). */
export class DiagnosticBag {
  private readonly seen = new Set<string>();
  readonly items: Diagnostic[] = [];

  add(d: Diagnostic): void {
    const key = formatDiagnostic(d);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.items.push(d);
  }

  addAll(ds: Iterable<Diagnostic>): void {
    for (const d of ds) this.add(d);
  }

  get size(): number {
    return this.items.length;
  }

  /** Sorted by file, then line, then column. */
  sorted(): Diagnostic[] {
    return [...this.items].sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
  }

  throwIfAny(): void {
    if (this.items.length) throw new InputError(this.sorted());
  }
}

/** Exit codes, documented in docs/cli.md ("Exit codes") and in `kiln --help`. */
export const EXIT = {
  ok: 0,
  error: 1,
  invalid: 2,
  hostFailed: 4,
} as const;
