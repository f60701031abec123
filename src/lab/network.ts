/**
 * The lab network: one bridge on the machine (10.77.0.1/24) and, per host, a network namespace
 * joined to it by a veth pair. MAC addresses are fixed (derived from the address) so a restarted
 * host is reachable at once: random MACs left stale ARP entries for 30–40 s.
 *
 * Nothing here touches the machine's firewall, routes (other than the bridge's own connected
 * route) or global forwarding settings. Only a bridge carrying the BRIDGE_ALIAS marker is used or
 * deleted, and the lab refuses to start while an address or route elsewhere overlaps its subnet.
 * Names derive from the host: namespace `kiln-<name>`, machine-side veth `kvh<last octet>`.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { LabError } from './errors.ts';
import { run, tryRun } from './exec.ts';
import { BRIDGE, BRIDGE_ALIAS } from './paths.ts';
import { CONTROLLER_ADDRESS, LAB_SUBNET, labOctet } from './topology.ts';

export const BRIDGE_MAC = '02:6b:6c:00:00:01';

export function netnsName(host: string): string {
  return `kiln-${host}`;
}

function octetOf(address: string): number {
  const o = labOctet(address);
  if (typeof o === 'string') throw new LabError(o);
  return o;
}

export function vethName(address: string): string {
  return `kvh${octetOf(address)}`;
}

const hex = (n: number): string => n.toString(16).padStart(2, '0');
/** MAC of the host's eth0 (inside its namespace). */
export function hostMac(address: string): string {
  return `02:6b:6c:01:00:${hex(octetOf(address))}`;
}
/** MAC of the machine-side end of the host's veth pair. */
export function peerMac(address: string): string {
  return `02:6b:6c:02:00:${hex(octetOf(address))}`;
}

interface IpAddrInfo {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}
interface IpLinkInfo {
  ifname: string;
  ifalias?: string;
  linkinfo?: { info_kind?: string };
}
interface IpRoute {
  dst: string;
  dev?: string;
  type?: string;
  table?: string;
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
}

/** Whether two IPv4 prefixes overlap. */
export function prefixesOverlap(a: string, b: string): boolean {
  const parse = (s: string): [number, number] => {
    const [ip, len] = s.split('/');
    const bits = len === undefined ? 32 : Number(len);
    const size = 2 ** (32 - bits);
    const start = Math.floor(ipToInt(ip) / size) * size;
    return [start, start + size - 1];
  };
  const [a0, a1] = parse(a);
  const [b0, b1] = parse(b);
  return a0 <= b1 && b0 <= a1;
}

export async function bridgeState(): Promise<'absent' | 'ours' | 'foreign'> {
  const r = await tryRun('ip', ['-j', '-d', 'link', 'show', 'dev', BRIDGE]);
  if (r.code !== 0) return 'absent';
  const [link] = JSON.parse(r.stdout) as IpLinkInfo[];
  return link?.ifalias === BRIDGE_ALIAS && link.linkinfo?.info_kind === 'bridge' ? 'ours' : 'foreign';
}

/**
 * Refuses when the lab subnet or bridge name is in use by something the lab did not create:
 * an address or route overlapping 10.77.0.0/24 on another interface, or a foreign kiln-br0.
 */
export async function checkNetworkFree(): Promise<void> {
  const problems: string[] = [];
  if ((await bridgeState()) === 'foreign') {
    problems.push(`an interface named ${BRIDGE} exists and was not created by kiln lab (no "${BRIDGE_ALIAS}" alias)`);
  }
  const addrs = JSON.parse((await run('ip', ['-j', '-4', 'addr', 'show'])).stdout) as IpAddrInfo[];
  for (const link of addrs) {
    if (link.ifname === BRIDGE) continue;
    for (const a of link.addr_info ?? []) {
      if (a.family === 'inet' && prefixesOverlap(`${a.local}/${a.prefixlen}`, LAB_SUBNET)) {
        problems.push(`${link.ifname} has address ${a.local}/${a.prefixlen}, which overlaps the lab subnet ${LAB_SUBNET}`);
      }
    }
  }
  const routes = JSON.parse((await run('ip', ['-j', '-4', 'route', 'show', 'table', 'all'])).stdout) as IpRoute[];
  for (const r of routes) {
    if (r.dst === 'default' || r.dev === BRIDGE) continue;
    if (r.type && r.type !== 'unicast') continue;
    const dst = r.dst.includes('/') ? r.dst : `${r.dst}/32`;
    if (prefixesOverlap(dst, LAB_SUBNET)) {
      problems.push(
        `a route to ${r.dst}${r.dev ? ` via ${r.dev}` : ''}${r.table ? ` (table ${r.table})` : ''} overlaps the lab subnet ${LAB_SUBNET}`,
      );
    }
  }
  if (problems.length) {
    throw new LabError(`refusing to start the lab: the network is in use by something else:\n  - ${problems.join('\n  - ')}`);
  }
}

async function writeSysctl(file: string, value: string): Promise<void> {
  if (existsSync(file)) await writeFile(file, value);
}

/** Creates the bridge (if absent) with 10.77.0.1/24, routing and IPv6 off on it. */
export async function ensureBridge(): Promise<void> {
  const state = await bridgeState();
  if (state === 'foreign') throw new LabError(`${BRIDGE} exists and was not created by kiln lab; refusing to use it`);
  if (state === 'absent') {
    await run('ip', ['link', 'add', 'name', BRIDGE, 'address', BRIDGE_MAC, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    await run('ip', ['link', 'set', 'dev', BRIDGE, 'alias', BRIDGE_ALIAS]);
  }
  // Per-interface settings of the lab's own bridge only (never the machine's global ones).
  await writeSysctl(`/proc/sys/net/ipv4/conf/${BRIDGE}/forwarding`, '0');
  await writeSysctl(`/proc/sys/net/ipv6/conf/${BRIDGE}/disable_ipv6`, '1');
  const addrs = JSON.parse((await run('ip', ['-j', '-4', 'addr', 'show', 'dev', BRIDGE])).stdout) as IpAddrInfo[];
  const has = addrs[0]?.addr_info?.some((a) => a.local === CONTROLLER_ADDRESS);
  if (!has) await run('ip', ['addr', 'add', `${CONTROLLER_ADDRESS}/24`, 'dev', BRIDGE]);
  await run('ip', ['link', 'set', 'dev', BRIDGE, 'up']);
}

/** Deletes the bridge, only if the lab created it. */
export async function removeBridge(): Promise<void> {
  if ((await bridgeState()) === 'ours') await run('ip', ['link', 'del', 'dev', BRIDGE]);
}

export async function netnsExists(name: string): Promise<boolean> {
  return existsSync(`/run/netns/${name}`);
}

/** Creates the host's namespace and veth pair, addresses it and gives it a default route via .1. */
export async function createHostNetwork(host: string, address: string): Promise<void> {
  const ns = netnsName(host);
  const veth = vethName(address);
  await removeHostNetwork(host, address);
  await run('ip', ['netns', 'add', ns]);
  await run('ip', [
    'link',
    'add',
    'name',
    veth,
    'address',
    peerMac(address),
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'address',
    hostMac(address),
    'netns',
    ns,
  ]);
  await writeSysctl(`/proc/sys/net/ipv6/conf/${veth}/disable_ipv6`, '1');
  await run('ip', ['link', 'set', 'dev', veth, 'master', BRIDGE, 'up']);
  await run('ip', ['-n', ns, '-batch', '-'], {
    input:
      [
        'link set dev lo up',
        `addr add ${address}/24 dev eth0`,
        'link set dev eth0 up',
        `route add default via ${CONTROLLER_ADDRESS} dev eth0`,
      ].join('\n') + '\n',
  });
}

/** Removes the host's namespace and the machine side of its veth pair (if present). */
export async function removeHostNetwork(host: string, address: string): Promise<void> {
  const veth = vethName(address);
  const link = await tryRun('ip', ['-j', 'link', 'show', 'dev', veth]);
  if (link.code === 0) await run('ip', ['link', 'del', 'dev', veth]);
  const ns = netnsName(host);
  if (await netnsExists(ns)) await run('ip', ['netns', 'del', ns]);
}

/** Namespaces named kiln-* (for status/down checks). */
export async function labNamespaces(): Promise<string[]> {
  const r = await tryRun('ip', ['-j', 'netns', 'list']);
  if (r.code !== 0 || !r.stdout.trim()) return [];
  return (JSON.parse(r.stdout) as { name: string }[]).map((n) => n.name).filter((n) => n.startsWith('kiln-'));
}
