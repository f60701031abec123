/** A probed state of a whole-file edit, as the probe would print it (a file with this content, or none). */
import type { ExecResult } from '../../../../src/modules/contract.ts';

export function probeOut(path: string, content: string | Buffer | undefined, extra = ''): ExecResult {
  const file =
    content === undefined
      ? ''
      : `type=file\nmode=0640\nowner=root\ngroup=adm\nsize=${content.length}\nsha256=abc\ncontent_b64=${Buffer.from(content).toString('base64')}\n`;
  return {
    stdout: `real_b64=${Buffer.from(path).toString('base64')}\nexists=${content === undefined ? 0 : 1}\n${file}parent=1\n${extra}`,
    stderr: '',
    code: 0,
  };
}
