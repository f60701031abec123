/**
 * A TCP relay on loopback between Kiln and a test sshd, to cut a host's link for real without
 * root: `blackhole()` stops forwarding in both directions while every socket stays open (what a
 * pulled cable or a downed veth looks like to both ends: no FIN, no RST, just silence). A `silent`
 * relay accepts TCP connections and never forwards or answers anything (a host whose sshd hangs
 * before its banner). The relay runs in the test process: drive Kiln through it in-process or as an
 * async child, never with spawnSync (that would freeze the relay).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpRelay {
  port: number;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** From now on, nothing passes in either direction; sockets stay open. */
  blackhole(): void;
  close(): Promise<void>;
}

export async function startRelay(target: { port: number; host?: string }, opts: { silent?: boolean } = {}): Promise<TcpRelay> {
  let dark = opts.silent ?? false;
  let accepted = 0;
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  };
  const server: Server = createServer((client) => {
    accepted++;
    track(client);
    if (dark) return void client.resume(); // read and drop everything
    const upstream = connect(target.port, target.host ?? '127.0.0.1');
    track(upstream);
    client.on('data', (b) => dark || upstream.write(b));
    upstream.on('data', (b) => dark || client.write(b));
    client.on('end', () => dark || upstream.end());
    upstream.on('end', () => dark || client.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    get accepted() {
      return accepted;
    },
    blackhole() {
      dark = true;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
