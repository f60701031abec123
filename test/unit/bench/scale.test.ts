/** The controller-scaling figure's pure parts (bench/driver/scale.ts): counting a server's connections in /proc/net/tcp, the table. */
import { describe, expect, it } from 'vitest';
import { countEstablished, scaleTable } from '../../../bench/driver/scale.ts';

const HEAD = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
// Port 2222 = 0x08AE; state 01 = ESTABLISHED, 0A = LISTEN, 06 = TIME_WAIT.
const table = [
  HEAD,
  '   0: 0100007F:08AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1',
  '   1: 0100007F:08AE 0100007F:D3D8 01 00000000:00000000 00:00000000 00000000     0        0 2 1',
  '   2: 0100007F:D3D8 0100007F:08AE 01 00000000:00000000 00:00000000 00000000     0        0 3 1',
  '   3: 0100007F:08AE 0100007F:D3DA 06 00000000:00000000 00:00000000 00000000     0        0 4 1',
  '   4: 0100007F:08AE 0100007F:D3DC 01 00000000:00000000 00:00000000 00000000     0        0 5 1',
  '   5: 0100007F:08AE 0100007F:D3DC 01 00000000:00000000 00:00000000 00000000     0        0 5 1',
  '   6: 0100007F:18AE 0100007F:D3DE 01 00000000:00000000 00:00000000 00000000     0        0 6 1',
].join('\n');

describe('scale figure', () => {
  it('counts the server side ESTABLISHED connections of the port, each once (not the client side, listener, TIME_WAIT, other ports)', () => {
    expect(countEstablished(table, 2222)).toBe(2);
    expect(countEstablished(table, 6318)).toBe(1);
    expect(countEstablished(HEAD, 2222)).toBe(0);
  });

  it('renders one table row per run', () => {
    const t = scaleTable([
      {
        tool: 'kiln',
        hosts: 1000,
        forks: 20,
        output: 'plain',
        wall: 12.345,
        cpu: 3.21,
        rssMB: 150.4,
        roundTrips: 1000,
        failed: 0,
        unreachable: 0,
        changed: 0,
        peakConnections: 20,
        code: 0,
      },
    ]);
    expect(t.split('\n')).toHaveLength(3);
    expect(t).toContain('| kiln | 1000 | 20 | 12.35 | 3.21 | 150 | 1000 | 0 / 0 | 20 |');
  });
});
