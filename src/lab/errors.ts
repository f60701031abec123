/** An error meant for the user: printed without a stack trace by the CLI. */
export class LabError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LabError';
  }
}
