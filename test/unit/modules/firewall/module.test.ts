import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { confirmScript, probeScript, rollbackScript } from '../../../../src/modules/firewall/scripts.ts';
import fw, {
  type FirewallParams,
  type FirewallPrep,
  type FirewallState,
  jumpPositions,
  parseFirewall,
  prepareFirewall,
  txnId,
} from '../../../../src/modules/firewall/firewall.ts';
import type { ModuleContext } from '../../../../src/modules/contract.ts';
import { atomicWrite } from '../../../../src/sh/atomic.ts';
import { sha256 } from '../../../../src/sh/bytes.ts';
import { ctx, outsideHeredocs, shSyntax } from '../helpers.ts';
import { site, SITE_POLICY } from './fixtures.ts';

/** A firewall task's params and what prepare made of them on the controller. */
interface Fw {
  p: FirewallParams;
  prep: FirewallPrep;
}

function params(over: Partial<FirewallParams> = {}, host = 'db1'): Fw {
  const s = site();
  const hosts = Object.keys(s.addresses);
  const p: FirewallParams = {
    policy: SITE_POLICY,
    admin_cidrs: s.admin,
    groups: s.groups,
    hosts,
    addresses: hosts.map((h) => s.addresses[h]),
    ...over,
  };
  return { p, prep: prepareFirewall(p, host) };
}

/** The state a converged host reports: Kiln's record matches the live listing and the files. */
function converged({ p, prep }: Fw, live = 'table inet kiln {\n\tchain input {\n\t}\n}'): FirewallState {
  return {
    hasNft: true,
    hasIptables: true,
    hasSystemdRun: true,
    sshClient: '10.77.0.1',
    sshPort: 22,
    nftTable: p.backend !== 'iptables',
    nftLive: p.backend !== 'iptables' ? live : '',
    iptLive: p.backend === 'iptables' ? live : '',
    applied: prep.sha,
    recorded: live,
    persisted: Object.fromEntries(Object.entries(prep.persist).map(([k, v]) => [k, { sha: sha256(v) }])),
  };
}

// The module's phases for one prepared task (the v2 signatures: params, prep, state, ops).
const plan = (t: Fw, s: FirewallState, c: ModuleContext = ctx()) => fw.plan(t.p, t.prep, s, c);
const apply = (t: Fw, s: FirewallState) => fw.apply(t.p, t.prep, s, [], ctx());
const probe = (t: Fw) => fw.probe(t.p, t.prep, ctx());
const sums = (t: Fw, s: FirewallState) => plan(t, s, ctx({ host: 'db1' })).map((c) => c.summary);

describe('firewall module: plan', () => {
  it('converged → nothing; a new policy → one atomic load with a diff of the persisted ruleset', () => {
    const p = params();
    expect(sums(p, converged(p))).toEqual([]);
    const old = params({ policy: { ...SITE_POLICY, db: { allow: [{ port: 3306, from: 'web' }] } } });
    const s = { ...converged(old), persisted: { '/etc/kiln/firewall.nft': { sha: sha256(old.prep.nft!), content: old.prep.nft } } };
    const changes = plan(p, s, ctx());
    expect(changes.map((c) => c.summary)).toEqual([
      'load nftables ruleset (table inet kiln, 3 policy rules) atomically, with a 20s commit-confirm',
    ]);
    expect(changes[0]!.diff).toContain('-\t\tip saddr { 10.77.0.21, 10.77.0.22 } tcp dport 3306');
    expect(changes[0]!.diff).toContain('+\t\tip saddr { 10.77.0.21, 10.77.0.22, 10.77.0.31, 10.77.0.32 } tcp dport 3306');
  });

  it('drift is measured on the LIVE ruleset: a rule added by hand shows in the diff', () => {
    const p = params();
    const s = converged(p, 'table inet kiln {\n\tchain input {\n\t\ttcp dport 22 accept\n\t}\n}');
    s.nftLive = 'table inet kiln {\n\tchain input {\n\t\ttcp dport 22 accept\n\t\ttcp dport 5555 accept\n\t}\n}';
    const [c] = plan(p, s, ctx());
    expect(c!.summary).toBe('the live ruleset (table inet kiln) differs from what Kiln loaded (changed by hand?): reload it');
    expect(c!.diff).toMatch(/--- table inet kiln \(live\)\n\+\+\+ table inet kiln \(planned\)/);
    expect(c!.diff).toContain('-\t\ttcp dport 5555 accept');
    // A deleted table, a stale persisted file.
    expect(sums(p, { ...converged(p), nftLive: '' })).toHaveLength(1);
    expect(sums(p, { ...converged(p), persisted: { '/etc/kiln/firewall.nft': { sha: 'x' } } })).toEqual([
      'rewrite /etc/kiln/firewall.nft (persisted ruleset)',
    ]);
  });

  it('iptables: the backend switch removes the other backend, jumps are read per family', () => {
    const p = params({ backend: 'iptables' });
    expect(Object.keys(p.prep.persist)).toEqual(['/etc/iptables/rules.v4', '/etc/iptables/rules.v6']);
    expect(sums(p, { ...converged(p), nftTable: true })).toEqual(['delete nftables table inet kiln (this host now uses iptables)']);
    const n = params();
    expect(sums(n, { ...converged(n), iptLive: ':KILN-INPUT\njump INPUT at 1: -A INPUT -j KILN-INPUT' })).toEqual([
      "remove Kiln's iptables chains (this host now uses nftables)",
    ]);
    const live =
      '# IPv4\n:KILN-INPUT\njump INPUT at 3: -A INPUT -j KILN-INPUT\njump OUTPUT at 1: -A OUTPUT -j KILN-OUTPUT\n# IPv6\n:KILN-INPUT\n';
    expect(jumpPositions(live, 4)).toEqual({ INPUT: [3], OUTPUT: [1] });
    expect(jumpPositions(live, 6)).toEqual({ INPUT: [], OUTPUT: [] });
    const script = apply(p, { ...converged(p), iptLive: live });
    expect(script).toContain('iptables-restore --test --noflush');
  });

  it("a backend switch removes the other backend's persisted files Kiln wrote (else both would load at boot)", () => {
    const p = params({ backend: 'iptables' });
    const s = { ...converged(p), persisted: { ...converged(p).persisted, '/etc/kiln/firewall.nft': { sha: 'x', kiln: true } } };
    expect(sums(p, s)).toEqual(['remove /etc/kiln/firewall.nft (this host now uses iptables)']);
    expect(apply(p, s)).toContain(`for f in '/etc/kiln/firewall.nft'; do grep -qs 'Managed by Kiln' "$f" && rm -f "$f"; done`);
    // A file Kiln did not write stays.
    expect(sums(p, { ...s, persisted: { ...s.persisted, '/etc/kiln/firewall.nft': { sha: 'x' } } })).toEqual([]);
    const n = params();
    expect(probe(n)).toContain("grep -qs 'Managed by Kiln' '/etc/iptables/rules.v4'");
  });

  it('tools not installed yet (check mode on a fresh host): unpredictable, still planned', () => {
    const p = params();
    const [c] = plan(p, { ...converged(p), hasNft: false, applied: undefined }, ctx({ check: true }));
    expect(c).toMatchObject({ unpredictable: true, summary: expect.stringContaining('nft is not installed yet') });
  });

  it('the lockout preflight fails the plan (before any apply)', () => {
    const p = params({ policy: { db: { allow: [{ port: 3306, from: 'web' }] } } });
    const s = { ...converged(params()), applied: 'old' };
    expect(() => plan(p, s, ctx())).toThrow(
      /refusing to apply: the firewall for db1 would not accept SSH \(port 22\/tcp\) from 10\.77\.0\.1/,
    );
    expect(() => plan(p, { ...s, sshClient: '10.77.0.1', sshPort: 2222 }, ctx())).toThrow(/port 2222/);
    // A host that misreports the controller's address gets past it: test/unit/transport/fault-transport.test.ts.
    // Converged hosts are not refused (nothing would be loaded).
    expect(sums(p, converged(p))).toEqual([]);
  });

  it('an unconfirmed earlier change is a change; verify right after apply ignores its own pending confirm', () => {
    const p = params();
    const s = { ...converged(p), pending: 'abc' };
    expect(sums(p, s)).toEqual(['an earlier firewall change (abc) was never confirmed: its rollback is armed; restore it and apply again']);
    expect(fw.verify!(p.p, p.prep, s, ctx())).toEqual([]);
    expect(fw.verify!(p.p, p.prep, { ...s, applied: 'x' }, ctx())).toHaveLength(1);
  });
});

describe('firewall module: typed ops', () => {
  it('apply depends only on the ops: rewording every summary gives the same script', () => {
    for (const t of [params(), params({ backend: 'iptables' }), params({ state: 'absent' })]) {
      const base = converged(t.p.state === 'absent' ? params() : t);
      const s: FirewallState = {
        ...base,
        applied: 'old',
        nftTable: true,
        iptLive: ':KILN-INPUT\n',
        persisted: { ...base.persisted, '/etc/kiln/firewall.nft': { sha: 'x', kiln: true } },
      };
      const planned = plan(t, s);
      expect(planned.length).toBeGreaterThan(0);
      const script = fw.apply(
        t.p,
        t.prep,
        s,
        planned.map((c) => c.op),
        ctx(),
      );
      const reworded = planned.map((c) => ({ ...c, summary: 'x' }));
      expect(
        fw.apply(
          t.p,
          t.prep,
          s,
          reworded.map((c) => c.op),
          ctx(),
        ),
      ).toBe(script);
      expect(shSyntax(script)).toBe('');
    }
  });

  it('each summary comes with the op saying what plan found', () => {
    const p = params();
    expect(plan(p, { ...converged(p), applied: 'old', pending: 'abc' }).map((c) => c.op)).toEqual([
      { kind: 'restore-unconfirmed', txn: 'abc' },
      { kind: 'load', toolInstalled: true },
    ]);
    expect(plan(p, { ...converged(p), hasNft: false }).map((c) => c.op)).toEqual([{ kind: 'load', toolInstalled: false }]);
    expect(plan(p, { ...converged(p), recorded: undefined, persisted: {}, iptLive: ':KILN-INPUT\n' }).map((c) => c.op)).toEqual([
      { kind: 'reload', reason: 'unrecorded' },
      { kind: 'persist', paths: ['/etc/kiln/firewall.nft'] },
      { kind: 'remove-iptables' },
    ]);
    const absent = params({ state: 'absent' });
    const s: FirewallState = {
      ...converged(p),
      pending: 'abc',
      iptLive: ':KILN-INPUT\n',
      persisted: { '/etc/iptables/rules.v4': { sha: 'b', kiln: true } },
    };
    expect(plan(absent, s).map((c) => c.op)).toEqual([
      { kind: 'cancel-rollback', txn: 'abc' },
      { kind: 'delete-nft-table' },
      { kind: 'remove-iptables' },
      { kind: 'remove-file', path: '/etc/iptables/rules.v4' },
      { kind: 'remove-record' },
    ]);
  });

  it('persisted rulesets are written by atomicWrite: parent created and 0644 although the script runs under umask 077', () => {
    const p = params();
    const script = apply(p, converged(p));
    expect(script).toContain(
      atomicWrite({ dest: '/etc/kiln/firewall.nft', bytes: p.prep.nft!, parent: 'create', attrs: { mode: '0644' } }).join('\n'),
    );
    expect(script).not.toContain('live.tmp');
    const dir = mkdtempSync(join(tmpdir(), 'kiln-fwfile-'));
    try {
      const dest = join(dir, 'etc/kiln/firewall.nft');
      const r = spawnSync('sh', [], {
        input:
          ['set -e', 'umask 077', ...atomicWrite({ dest, bytes: p.prep.nft!, parent: 'create', attrs: { mode: '0644' } })].join('\n') +
          '\n',
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      expect(readFileSync(dest, 'utf8')).toBe(p.prep.nft);
      expect(statSync(dest).mode & 0o777).toBe(0o644);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('firewall module: state absent', () => {
  it('plans the removal of what is there, removes only files Kiln wrote, and needs no confirm', () => {
    const p = params({ state: 'absent' });
    const s: FirewallState = {
      ...converged(params()),
      iptLive: ':KILN-INPUT\n',
      persisted: { '/etc/kiln/firewall.nft': { sha: 'a', kiln: true }, '/etc/iptables/rules.v4': { sha: 'b' } },
    };
    expect(plan(p, s, ctx()).map((c) => c.summary)).toEqual([
      'delete nftables table inet kiln',
      "remove Kiln's iptables chains KILN-INPUT/KILN-OUTPUT and their jumps (IPv4 and IPv6)",
      'remove /etc/kiln/firewall.nft',
      "remove Kiln's firewall record (/var/lib/kiln/firewall)",
    ]);
    const gone: FirewallState = {
      ...s,
      nftTable: false,
      iptLive: '',
      applied: undefined,
      recorded: undefined,
      persisted: { '/etc/iptables/rules.v4': { sha: 'b' } },
    };
    expect(plan(p, gone, ctx())).toEqual([]);
    // Removing rules cannot lock anyone out: no preflight, no rollback timer, an empty confirm.
    expect(plan(params({ state: 'absent', policy: { db: { allow: [{ port: 1, from: 'web' }] } } }), s, ctx())).toHaveLength(4);
    const script = apply(p, s);
    expect(shSyntax(script)).toBe('');
    expect(script).not.toContain('systemd-run');
    expect(script).toContain('grep -qs \'Managed by Kiln\' "$f" && rm -f "$f"');
    expect(fw.confirm!(p.p, p.prep, ctx())).toBe('true');
    expect(shSyntax(probe(p))).toBe('');
  });
});

describe('firewall module: probe output and scripts', () => {
  it('parses the probe: SSH_CONNECTION gives the controller address and the SSH port as the host sees them', () => {
    const b = (s: string) => Buffer.from(s).toString('base64');
    const s = parseFirewall({
      code: 0,
      stderr: '',
      stdout: [
        'has_nft=1',
        'has_systemd_run=1',
        'ssh_connection=10.77.0.1 51234 10.77.0.31 2222',
        'nft_table=1',
        `nft_live_b64=${b('table inet kiln {\n}')}`,
        'applied=abc',
        `recorded_b64=${b('x')}`,
        'persist_path_0=/etc/kiln/firewall.nft',
        'persist_0_sha256=123',
        `persist_0_content_b64=${b('old')}`,
      ].join('\n'),
    });
    expect(s).toMatchObject({
      hasNft: true,
      hasIptables: false,
      sshClient: '10.77.0.1',
      sshPort: 2222,
      nftTable: true,
      nftLive: 'table inet kiln {\n}',
      applied: 'abc',
      recorded: 'x',
    });
    expect(s.persisted).toEqual({ '/etc/kiln/firewall.nft': { sha: '123', content: 'old' } });
    expect(parseFirewall({ code: 0, stderr: '', stdout: 'ssh_connection=\n' }).sshClient).toBeUndefined();
  });

  it('scripts are valid POSIX sh; rules travel in heredocs; the rollback is armed before the load', () => {
    for (const backend of ['nftables', 'iptables'] as const) {
      const p = params({ backend });
      const s = converged(p);
      const script = apply(p, s);
      expect(shSyntax(script)).toBe('');
      expect(shSyntax(probe(p))).toBe('');
      expect(outsideHeredocs(script)).not.toContain('10.77.0.21');
      const arm = script.indexOf('systemd-run --quiet --on-active=20s --unit kiln-fw-rollback-');
      const load = script.indexOf(backend === 'nftables' ? 'nft -f $D/new.nft' : 'iptables-restore --noflush <');
      const check = script.indexOf(backend === 'nftables' ? 'nft -c -f' : 'iptables-restore --test');
      expect(check).toBeGreaterThan(0);
      expect(arm).toBeGreaterThan(check);
      expect(load).toBeGreaterThan(arm);
    }
    expect(shSyntax(probeScript({ '/etc/kiln/firewall.nft': 'abc' }, true))).toBe('');
    const p = params();
    const c = confirmScript(txnId(p.prep));
    expect(shSyntax(c)).toBe('');
    expect(c).toContain(`if mkdir $D/decided.${txnId(p.prep)} 2>/dev/null; then`);
    expect(fw.confirm!(p.p, p.prep, ctx())).toBe(c);
  });

  it('the rollback script: valid sh, decides atomically against the confirm, restores rules, files and record', () => {
    const r = rollbackScript('abc123');
    expect(shSyntax(r)).toBe('');
    const lines = r.split('\n');
    const decide = lines.findIndex((l) => l === 'mkdir $D/decided.abc123 2>/dev/null || exit 0');
    expect(decide).toBeGreaterThan(0);
    // Nothing is restored before the decision.
    expect(lines.slice(0, decide).some((l) => !l.trim().startsWith('#') && /nft -f|-restore|cp -p/.test(l))).toBe(false);
    expect(r).toContain('nft -f $P/live.nft');
    expect(r).toContain('$b-restore --noflush < $P/v$f');
    for (const f of [
      '/etc/kiln/firewall.nft',
      '/etc/iptables/rules.v4',
      '/etc/iptables/rules.v6',
      '/var/lib/kiln/firewall/applied',
      '/var/lib/kiln/firewall/live',
    ])
      expect(r).toContain(`'${f}'`);
    expect(r).toContain('rm -f $D/pending');
  });

  it("the saved state for an iptables rollback is Kiln's chains and jumps only, as a --noflush restore file", () => {
    const save = `# Generated by iptables-save
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:KILN-INPUT - [12:3456]
:KILN-OUTPUT - [0:0]
-A INPUT -j KILN-INPUT
-A INPUT -s 192.0.2.9/32 -j DROP
-A FORWARD -j DOCKER
-A OUTPUT -j KILN-OUTPUT
-A KILN-INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A KILN-INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A KILN-INPUT -j DROP
COMMIT
`;
    const fn = /kiln_fw_ipt_own\(\) \{[\s\S]*?\n\}/.exec(rollbackScript('x').replace(/[\s\S]*?(kiln_fw_ipt_own)/, '$1'))![0];
    const run = (text: string) =>
      spawnSync('sh', [], { input: `${fn}\nfakesave() { cat <<'EOF'\n${text}EOF\n}\nkiln_fw_ipt_own fakesave\n`, encoding: 'utf8' }).stdout;
    expect(run(save)).toBe(
      [
        '*filter',
        ':KILN-INPUT - [0:0]',
        ':KILN-OUTPUT - [0:0]',
        '-A KILN-INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-A KILN-INPUT -p tcp -m tcp --dport 22 -j ACCEPT',
        '-A KILN-INPUT -j DROP',
        '-I OUTPUT 1 -j KILN-OUTPUT',
        '-I INPUT 1 -j KILN-INPUT',
        'COMMIT',
        '',
      ].join('\n'),
    );
    // No Kiln chains before the change: nothing to restore (the rollback only removes Kiln's).
    expect(run('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 192.0.2.9/32 -j DROP\nCOMMIT\n')).toBe('');
  });

  it('the rollback timer length and the transaction id follow the params', () => {
    const a = params({ rollback_seconds: 45 });
    expect(apply(a, converged(a))).toContain('--on-active=45s');
    expect(txnId(a.prep)).toMatch(/^[0-9a-f]{12}$/);
    expect(txnId(params({ backend: 'iptables' }).prep)).not.toBe(txnId(a.prep));
  });
});
