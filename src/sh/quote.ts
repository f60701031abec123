/** Quoting for POSIX sh: every value Kiln puts into a remote script goes through `q`. */
/** Single-quotes a string for POSIX sh. */
export function q(s: string | number): string {
  return `'${String(s).replace(/'/g, `'"'"'`)}'`;
}
