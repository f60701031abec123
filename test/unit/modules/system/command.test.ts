import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import command, { type CommandParams, splitArgs } from '../../../../src/modules/system/command.ts';
import shell, { type ShellParams } from '../../../../src/modules/system/shell.ts';
import { redact, Secret, SecretInArgvError } from '../../../../src/core/secret/secret.ts';
import { loadInventory } from '../../../../src/input/inventory/index.ts';
import { VarsBuilder } from '../../../../src/input/inventory/vars-builder.ts';
import { loadPlaybook } from '../../../../src/input/playbook/load.ts';
import { RunMemory } from '../../../../src/modules/contract.ts';
import { moduleCatalog } from '../../../../src/modules/registry.ts';
import { secretProperties } from '../../../../src/modules/schema-types.ts';
import { instantiate } from '../../../../src/plan/instance.ts';
import type { PrepareContext } from '../../../../src/modules/contract.ts';
import { PRELUDE } from '../../../../src/sh/prelude.ts';
import { ctx, runProbe, shSyntax, outsideHeredocs } from '../helpers.ts';
import { expectApplyFromOpsOnly } from './ops-only.ts';

const out = (stdout: string, code = 0, stderr = '') => ({ stdout, stderr, code });
/** Runs a HARMLESS apply script locally (only echo/cat/printf commands in these tests). */
const runScript = (script: string) => spawnSync('sh', [], { input: `${PRELUDE}\n${script}\n`, encoding: 'utf8' });
const RUN = { kind: 'run' } as const;
const ops = <Op>(planned: readonly { op: Op }[]) => planned.map((c) => c.op);
/** Secret params reach modules as Secret objects (plan/instance.ts) although their schema type is string. */
/** A vault value where the schema types a plain value (environment values may be Secrets at run time). */
const secretParam = (s: Secret) => s as unknown as string;

describe('splitArgs', () => {
  it('splits like sh without expansion', () => {
    expect(splitArgs(`ls -l  /tmp`)).toEqual(['ls', '-l', '/tmp']);
    expect(splitArgs(`echo 'a b' "c \\"d\\" $HOME" e\\ f ''`)).toEqual(['echo', 'a b', 'c "d" $HOME', 'e f', '']);
    expect(() => splitArgs(`echo 'oops`)).toThrow(/unterminated single quote/);
  });
});

describe('command plan', () => {
  it('without a guard: an unpredictable action, every time', () => {
    expect(command.plan({ cmd: 'systemctl daemon-reload' }, undefined, command.parse(out(''), { cmd: 'x' }, undefined), ctx())).toEqual([
      { summary: 'run: systemctl daemon-reload', action: true, unpredictable: true, op: RUN },
    ]);
  });
  it('guards: satisfied → ok; not satisfied → a predictable action (a skip condition, as in Ansible, not a post-condition)', () => {
    const p: CommandParams = { cmd: 'tar xf /tmp/a.tar', chdir: '/opt', creates: 'a/bin' };
    expect(command.plan(p, undefined, command.parse(out('chdir=1\ncreates=1\n'), { cmd: 'x' }, undefined), ctx())).toEqual([]);
    expect(command.plan(p, undefined, command.parse(out('chdir=1\ncreates=0\n'), { cmd: 'x' }, undefined), ctx())).toEqual([
      { summary: 'run: tar xf /tmp/a.tar (a/bin does not exist)', action: true, op: RUN },
    ]);
    expect(
      command.plan({ cmd: 'rm x', removes: '/x' }, undefined, command.parse(out('removes=0\n'), { cmd: 'x' }, undefined), ctx()),
    ).toEqual([]);
    expect(
      command.plan({ cmd: 'rm x', removes: '/x' }, undefined, command.parse(out('removes=1\n'), { cmd: 'x' }, undefined), ctx()),
    ).toHaveLength(1);
    expect(
      command.plan(
        { cmd: 'a2enmod ssl', unless: 'test -e /etc/apache2/mods-enabled/ssl.load' },
        undefined,
        command.parse(out('unless_rc=0\n'), { cmd: 'x' }, undefined),
        ctx(),
      ),
    ).toEqual([]);
    expect(
      command.plan({ cmd: 'a2enmod ssl', unless: 'x' }, undefined, command.parse(out('unless_rc=1\n'), { cmd: 'x' }, undefined), ctx()),
    ).toEqual([{ summary: 'run: a2enmod ssl (unless exited 1)', op: RUN }]);
  });
  it('missing chdir: said in the plan, apply fails clearly instead of running in $HOME', () => {
    const p: CommandParams = { cmd: 'make', chdir: '/nonexistent/kiln' };
    const s = command.parse(out('chdir=0\n'), { cmd: 'x' }, undefined);
    expect(command.plan(p, undefined, s, ctx({ check: true }))[0].summary).toBe(
      'run: make (in /nonexistent/kiln, which does not exist yet)',
    );
    const r = runScript(command.apply(p, undefined, s, ops(command.plan(p, undefined, s, ctx())), ctx()));
    expect(r.status).toBe(127);
    expect(r.stderr).toContain('chdir: directory /nonexistent/kiln does not exist');
  });
  it('refuses a secret (or text derived from one) in the command line before any host is contacted', () => {
    const pw = new Secret('hunter2-very-secret');
    const prepare = (p: CommandParams) => command.prepare!(p, ctx() as unknown as PrepareContext);
    expect(() => prepare({ cmd: `mysql -p${pw.reveal()}` })).toThrow(SecretInArgvError);
    expect(() => prepare({ argv: ['mysql', `-p${pw.reveal()}`] })).toThrow(/argv holds a secret/);
    new Secret('aHVudGVyMi1kZXJpdmVk'); // a derived value (b64encode of a secret) is registered when rendered
    expect(() => prepare({ cmd: 'echo aHVudGVyMi1kZXJpdmVk' })).toThrow(/cmd holds a secret.*environment/);
    expect(() => prepare({ cmd: 'echo plain' })).not.toThrow();
  });
  it('secrets in stdin and environment never leave the heredoc / export lines', () => {
    const pw = new Secret('s3cr3t-stdin-value');
    const tok = new Secret('tok-environment-value');
    const p: CommandParams = { argv: ['cat'], stdin: secretParam(pw), environment: { TOKEN: secretParam(tok), LANG: 'C' } };
    const changes = command.plan(p, undefined, {}, ctx());
    expect(JSON.stringify(changes)).not.toContain('s3cr3t');
    const script = command.apply(p, undefined, {}, ops(changes), ctx());
    const argvPart = outsideHeredocs(script);
    expect(argvPart).not.toContain('s3cr3t-stdin-value');
    expect(script).not.toContain('s3cr3t-stdin-value'); // base64 in the heredoc
    expect(argvPart).not.toContain(Buffer.from('s3cr3t-stdin-value\n').toString('base64'));
    expect(argvPart).toMatch(/^base64 -d <<'KILN_STDIN_[0-9a-f]+' \| 'cat'$/m);
    // env values: only in `export` (a builtin), never in a command's argv
    for (const line of argvPart.split('\n')) if (line.includes('tok-environment-value')) expect(line).toMatch(/^export TOKEN=/);
    expect(shSyntax(script)).toBe('');
    // and it really works: cat echoes stdin; environment reaches the command
    const r = runScript(script);
    expect(r.stdout).toBe('s3cr3t-stdin-value\n');
    const r2 = runScript(
      command.apply({ argv: ['sh', '-c', 'printf %s "$TOKEN"'], environment: { TOKEN: secretParam(tok) } }, undefined, {}, [RUN], ctx()),
    );
    expect(r2.stdout).toBe('tok-environment-value');
  });
  it('stdin is not a secret by itself: plain stdin keeps the output shown; a secret stdin hides it', () => {
    // Not declared secret: the engine does not turn a plain stdin into a Secret.
    expect(secretProperties(command.schema)).not.toContain('stdin');
    expect(secretProperties(shell.schema)).not.toContain('stdin');
    // Plain stdin: the command's output is not registered as a secret (not redacted later).
    const plain = command.interpret!({ argv: ['cat'], stdin: 'plain-stdin-text' }, undefined, out('echo-of-plain-stdin\n'), ctx());
    expect(plain.result).toMatchObject({ stdout: 'echo-of-plain-stdin' });
    expect(redact('echo-of-plain-stdin')).toBe('echo-of-plain-stdin');
    // A secret (or text derived from one, registered when rendered) in stdin: output registered.
    new Secret('stdin-derived-secret-9f2');
    command.interpret!({ argv: ['cat'], stdin: 'pw=stdin-derived-secret-9f2' }, undefined, out('transformed-output-41c\n'), ctx());
    expect(redact('got transformed-output-41c')).not.toContain('transformed-output-41c');
    // Still a base64 here-document, never in argv.
    const script = command.apply({ argv: ['cat'], stdin: 'plain-stdin-text' }, undefined, {}, [RUN], ctx());
    expect(outsideHeredocs(script)).not.toContain('plain-stdin-text');
    expect(runScript(script).stdout).toBe('plain-stdin-text\n');
  });
  it('the task is sensitive for its stdin only when stdin holds a secret or the task is no_log', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-stdin-'));
    writeFileSync(join(dir, 'hosts.yml'), 'all:\n  hosts:\n    h1: { address: 10.0.0.1 }\n');
    writeFileSync(
      join(dir, 'pb.yml'),
      [
        '- hosts: all',
        '  vars:',
        '    pw: !secret stdin-vault-pw-77a',
        '  tasks:',
        '    - command: { argv: [cat], stdin: "plain text" }',
        '    - shell: { cmd: cat, stdin: "user={{ pw | b64encode }}" }',
        '    - command: { argv: [cat], stdin: "plain text" }',
        '      no_log: true',
        '',
      ].join('\n'),
    );
    const { playbook, diagnostics } = loadPlaybook(join(dir, 'pb.yml'), { modules: moduleCatalog });
    expect(diagnostics).toEqual([]);
    const { inventory } = loadInventory([join(dir, 'hosts.yml')]);
    const vars = new VarsBuilder(inventory, { extraVars: {}, check: false, playbook: join(dir, 'pb.yml') });
    const play = playbook.plays[0]!;
    const sensitive = play.tasks.map((t) => {
      const r = instantiate(t, vars.forTask('h1', play, ['h1'], t, {}), {
        host: 'h1',
        play,
        check: false,
        diff: false,
        playbookDir: dir,
        run: new RunMemory(),
      });
      if (r.kind !== 'run') throw new Error(JSON.stringify(r));
      return r.instances[0]!.sensitive;
    });
    expect(sensitive).toEqual([false, true, true]);
    rmSync(dir, { recursive: true, force: true });
  });
  it('interpret returns rc/stdout/stderr and lines; failed when rc≠0', () => {
    const ok = command.interpret!({ cmd: 'echo hi' }, undefined, out('hi\nthere\n'), ctx());
    expect(ok).toEqual({
      result: { cmd: 'echo hi', rc: 0, stdout: 'hi\nthere', stderr: '', stdout_lines: ['hi', 'there'], stderr_lines: [] },
    });
    const bad = command.interpret!({ cmd: 'false' }, undefined, out('', 1, 'boom\n'), ctx());
    expect(bad.failed).toBe('false: exit code 1: boom');
    expect(bad.result).toMatchObject({ rc: 1, stderr_lines: ['boom'] });
  });
  it('probe: valid sh; runs for real with creates/removes/unless/chdir (read-only)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kiln-cmd-'));
    writeFileSync(join(dir, 'done'), '');
    const p: CommandParams = {
      cmd: 'x',
      chdir: dir,
      creates: 'done',
      removes: 'missing',
      unless: 'test "$K" = v && test -e done',
      environment: { K: 'v' },
    };
    const script = command.probe(p, undefined, ctx());
    expect(shSyntax(script)).toBe('');
    const s = command.parse(runProbe(script), p, undefined);
    expect(s).toEqual({ chdirExists: true, creates: true, removes: false, unlessRc: 0 });
    const s2 = command.parse(
      runProbe(command.probe({ cmd: 'x', chdir: '/nonexistent/kiln', unless: 'true' }, undefined, ctx())),
      p,
      undefined,
    );
    expect(s2).toMatchObject({ chdirExists: false, unlessRc: 125 });
  });
});

describe('shell', () => {
  it('runs through sh -c (or executable), with the same guards', () => {
    const p: ShellParams = { cmd: 'echo a | tr a b > /dev/null; echo "$X"', environment: { X: 'y' } };
    expect(shell.plan(p, undefined, {}, ctx())).toEqual([{ summary: `run: ${p.cmd}`, action: true, unpredictable: true, op: RUN }]);
    const script = shell.apply(p, undefined, {}, [RUN], ctx());
    // The command line reaches the shell as a here-document on fd 3, never in its argv.
    expect(script).toMatch(
      /'\/bin\/sh' -c '\. \/dev\/fd\/3' 3<<'KILN_SH_\w+' <\/dev\/null\nexec 3<&-; echo a \| tr a b > \/dev\/null; echo "\$X"\nKILN_SH_\w+$/,
    );
    expect(outsideHeredocs(script)).not.toContain('tr a b');
    expect(runScript(script).stdout).toBe('y\n');
    expect(shell.apply({ ...p, executable: '/bin/bash' }, undefined, {}, [RUN], ctx())).toContain(`'/bin/bash' -c`);
    expect(
      shell.plan(
        { cmd: 'x', creates: '/etc/passwd' },
        undefined,
        shell.parse(runProbe(shell.probe({ cmd: 'x', creates: '/etc/passwd' }, undefined, ctx())), { cmd: 'x' }, undefined),
        ctx(),
      ),
    ).toEqual([]);
  });
  it('the command line is read from fd 3, which the command does not inherit; a syntax error keeps its line number', () => {
    expect(runScript(shell.apply({ cmd: '[ -e /proc/$$/fd/3 ] && echo open || echo closed' }, undefined, {}, [RUN], ctx())).stdout).toBe(
      'closed\n',
    );
    expect(runScript(shell.apply({ cmd: 'echo "$0"' }, undefined, {}, [RUN], ctx())).stdout).toBe('/bin/sh\n');
    const r = runScript(shell.apply({ cmd: 'true\nif then' }, undefined, {}, [RUN], ctx()));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/\b2\b/);
    expect(
      runScript(shell.apply({ cmd: 'cat; echo "$X"', stdin: 'from stdin', environment: { X: 'env' } }, undefined, {}, [RUN], ctx())).stdout,
    ).toBe('from stdin\nenv\n');
  });
  it('the exit code is the command’s', () => {
    expect(runScript(shell.apply({ cmd: 'exit 3' }, undefined, {}, [RUN], ctx())).status).toBe(3);
  });
  it('apply depends only on the planned ops, never on summary text', () => {
    const script = expectApplyFromOpsOnly(shell, { cmd: 'echo hi', chdir: '/tmp', creates: 'x' }, undefined, {
      chdirExists: true,
      creates: false,
    });
    expect(script).toMatch(/'\/bin\/sh' -c '\. \/dev\/fd\/3' 3<<'KILN_SH_\w+' <\/dev\/null\nexec 3<&-; echo hi\nKILN_SH_\w+$/);
    expect(expectApplyFromOpsOnly(command, { argv: ['echo', 'hi'] }, undefined, {})).toBe(`'echo' 'hi' </dev/null`);
    // Nothing planned, nothing run.
    expect(command.apply({ argv: ['echo', 'hi'] }, undefined, {}, [], ctx())).toBe('');
  });
});
