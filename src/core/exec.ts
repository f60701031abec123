/** What one remote (or local) script returned. */
export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}
