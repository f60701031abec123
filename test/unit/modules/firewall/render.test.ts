import { describe, expect, it } from 'vitest';
import { resolveHost } from '../../../../src/modules/firewall/policy.ts';
import { jumpFix, renderIptables, renderNft } from '../../../../src/modules/firewall/render.ts';
import { site } from './fixtures.ts';

describe('nftables rendering', () => {
  it('one table replaced atomically: create-if-missing, delete, then the complete table', () => {
    const nft = renderNft(resolveHost('db1', site()), { outbound: 'accept' });
    const lines = nft.split('\n');
    const i = lines.indexOf('table inet kiln {}');
    expect(lines[i + 1]).toBe('delete table inet kiln');
    expect(nft).not.toMatch(/flush ruleset|chain forward/);
    expect(nft).toContain('type filter hook input priority filter; policy drop;');
    expect(nft).toContain('ct state established,related accept');
    expect(nft).toContain('iif "lo" accept');
    expect(nft).toMatch(/icmpv6 type \{[^}]*nd-neighbor-solicit[^}]*\} accept/);
    expect(nft).toContain(
      'ip saddr { 10.77.0.21, 10.77.0.22, 10.77.0.31, 10.77.0.32 } tcp dport 3306 accept comment "db: 3306/tcp from web, db"',
    );
    expect(nft).toContain('ip saddr 10.77.0.1 tcp dport 22 accept comment "all: 22/tcp from admin"');
    expect(nft).toContain('type filter hook output priority filter; policy accept;');
    // Established/related come before the policy's rules; policy rules before the implicit drop.
    expect(nft.indexOf('ct state established')).toBeLessThan(nft.indexOf('tcp dport 3306'));
  });
  it('any → no address match (both families); IPv6 sources get ip6 rules; outbound drop', () => {
    const inp = site({
      lb: { allow: [{ port: [80, 443], from: 'any' }], allow_out: [{ port: 53, proto: 'udp', to: ['192.0.2.53', '2001:db8::53'] }] },
      all: { allow: [{ port: 22, from: ['admin', '2001:db8::/32'] }] },
    });
    const nft = renderNft(resolveHost('lb1', inp), { outbound: 'drop' });
    expect(nft).toContain('\t\ttcp dport { 80, 443 } accept comment "lb: 80,443/tcp from any"');
    expect(nft).toContain('ip6 saddr 2001:db8::/32 tcp dport 22 accept');
    expect(nft).toContain('policy drop;\n\t\tct state established,related accept\n\t\toif "lo" accept');
    expect(nft).toContain('ip daddr 192.0.2.53 udp dport 53 accept');
    expect(nft).toContain('ip6 daddr 2001:db8::53 udp dport 53 accept');
  });
  it('vrrp (IP protocol 112, no ports) only from the lb peers, by protocol number in both backends', () => {
    const inp = site({ lb: { allow: [{ proto: 'vrrp', from: 'lb', comment: 'keepalived' }] } });
    const nft = renderNft(resolveHost('lb1', inp), { outbound: 'accept' });
    expect(nft).toContain('ip saddr { 10.77.0.11, 10.77.0.12 } meta l4proto 112 accept comment "lb: vrrp from lb (keepalived)"');
    expect(nft).not.toMatch(/dport[^\n]*vrrp|vrrp dport/);
    const ipt = renderIptables(resolveHost('lb1', inp), { outbound: 'accept' }, 4).persist;
    expect(ipt).toContain('-A KILN-INPUT -s 10.77.0.11/32 -p 112 -m comment --comment "lb: vrrp from lb (keepalived)" -j ACCEPT');
    expect(ipt).toContain('-A KILN-INPUT -s 10.77.0.12/32 -p 112 ');
    // The other hosts get no VRRP rule.
    expect(renderNft(resolveHost('web1', inp), { outbound: 'accept' })).not.toContain('l4proto 112');
  });
  it('comments cannot break out of their quotes', () => {
    const nft = renderNft(resolveHost('lb1', site({ lb: { allow: [{ port: 80, from: 'any', comment: 'say "hi"; flush ruleset' }] } })), {
      outbound: 'accept',
    });
    expect(nft).toContain(`comment "lb: 80/tcp from any (say 'hi'; flush ruleset)"`);
  });
});

describe('iptables rendering', () => {
  it('Kiln chains for --noflush (declared, flushed, refilled) and a complete persisted table', () => {
    const f = renderIptables(resolveHost('db1', site()), { outbound: 'accept' }, 4);
    const live = f.live(jumpFix({ INPUT: [], OUTPUT: [] }));
    expect(live).not.toMatch(/^:INPUT/m);
    expect(live).toMatch(/^\*filter\n:KILN-INPUT - \[0:0\]\n:KILN-OUTPUT - \[0:0\]\n-F KILN-INPUT\n-F KILN-OUTPUT\n/m);
    expect(live).toContain(
      '-A KILN-INPUT -s 10.77.0.21/32 -p tcp -m tcp --dport 3306 -m comment --comment "db: 3306/tcp from web, db" -j ACCEPT',
    );
    expect(live).toMatch(
      /-A KILN-INPUT -j DROP\n-A KILN-OUTPUT -j RETURN\n-I INPUT 1 -j KILN-INPUT\n-I OUTPUT 1 -j KILN-OUTPUT\nCOMMIT\n$/,
    );
    expect(f.persist).toMatch(
      /:INPUT ACCEPT \[0:0\]\n:FORWARD ACCEPT \[0:0\]\n:OUTPUT ACCEPT \[0:0\]\n:KILN-INPUT - \[0:0\]\n:KILN-OUTPUT - \[0:0\]\n-A INPUT -j KILN-INPUT\n-A OUTPUT -j KILN-OUTPUT\n/,
    );
    const v6 = renderIptables(resolveHost('db1', site()), { outbound: 'accept' }, 6).persist;
    expect(v6).toContain('-A KILN-INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT');
    // The IPv4-only site's restricted rules have no IPv6 sources: nothing but SSH-less drop.
    expect(v6).not.toContain('--dport 3306');
  });
  it('multiport for lists, split past 15 ports; ranges with a colon', () => {
    const ports = Array.from({ length: 20 }, (_, i) => 1000 + i);
    const f = renderIptables(
      resolveHost('lb1', site({ lb: { allow: [{ port: [...ports, '2000-2100'], from: 'any' }] } })),
      { outbound: 'accept' },
      4,
    ).persist;
    const lines = f.split('\n').filter((l) => l.includes('multiport'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`--dports ${ports.slice(0, 15).join(',')} `);
    expect(lines[1]).toContain('--dports 1015,1016,1017,1018,1019,2000:2100 ');
  });
  it('jump repair: exactly one jump, first in the chain', () => {
    expect(jumpFix({ INPUT: [1], OUTPUT: [1] })).toEqual([]);
    expect(jumpFix({ INPUT: [2], OUTPUT: [] })).toEqual([
      '-D INPUT -j KILN-INPUT',
      '-I INPUT 1 -j KILN-INPUT',
      '-I OUTPUT 1 -j KILN-OUTPUT',
    ]);
    expect(jumpFix({ INPUT: [1, 4], OUTPUT: [1] })).toEqual([
      '-D INPUT -j KILN-INPUT',
      '-D INPUT -j KILN-INPUT',
      '-I INPUT 1 -j KILN-INPUT',
    ]);
  });
});
