/** The driver's progress log: one line on stderr, prefixed with `[bench HH:MM:SS]` (UTC). */

export const log = (m: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
};
