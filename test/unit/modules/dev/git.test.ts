import { describe, expect, it } from 'vitest';
import { fetchArgs, type GitParams, type GitState, gitApply, gitPlan, gitProbe, gitTarget } from '../../../../src/modules/dev/git.ts';
import { ctx, shSyntax } from '../helpers.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const T = 'c'.repeat(40);
const P: GitParams = { repo: 'https://git.example/app.git', dest: '/srv/app' };

function state(over: Partial<GitState> = {}): GitState {
  return {
    gitMissing: false,
    exists: true,
    destNotEmpty: false,
    head: A,
    url: P.repo,
    mods: false,
    headBranch: 'main',
    subsDirty: false,
    refs: { HEAD: A, 'refs/heads/main': A, 'refs/heads/dev': B, 'refs/tags/v1': T, 'refs/tags/v1^{}': B },
    lsRan: true,
    ...over,
  };
}

const kinds = (p: GitParams, s: GitState) => gitPlan(p, s, ctx()).map((c) => c.op.kind);

describe('git plan', () => {
  it('clones into a missing dest at the remote HEAD, with the sha in summary and diff', () => {
    const [c] = gitPlan(P, state({ exists: false, head: undefined, url: undefined }), ctx());
    expect(c.op).toEqual({ kind: 'clone', ref: 'head', sha: A });
    expect(c.summary).toBe(`clone ${P.repo} into /srv/app at aaaaaaa`);
    expect(c.diff).toContain(`+${A}`);
  });

  it('is converged when HEAD is the tip of the checked-out branch', () => {
    expect(kinds(P, state())).toEqual([]);
  });

  it('updates to the new tip of the current branch (version HEAD)', () => {
    const plan = gitPlan(P, state({ refs: { HEAD: A, 'refs/heads/main': B } }), ctx());
    expect(plan.map((c) => c.op)).toEqual([{ kind: 'update', ref: 'head', sha: B }]);
    expect(plan[0]!.summary).toBe('update /srv/app: aaaaaaa → bbbbbbb');
  });

  it('resolves branches, annotated tags (peeled) and SHAs as Ansible does', () => {
    expect(gitTarget({ ...P, version: 'dev' }, state())).toEqual({ ref: 'branch', sha: B });
    expect(gitTarget({ ...P, version: 'v1' }, state())).toEqual({ ref: 'tag', sha: B });
    expect(gitTarget({ ...P, version: 'ABCDEF1' }, state())).toEqual({ ref: 'sha', sha: 'abcdef1' });
    expect(() => gitTarget({ ...P, version: 'nope' }, state())).toThrow(/neither a branch nor a tag/);
  });

  it('a SHA prefix of HEAD is converged', () => {
    expect(kinds({ ...P, version: A.slice(0, 8) }, state())).toEqual([]);
    expect(kinds({ ...P, version: B.slice(0, 8) }, state())).toEqual(['update']);
  });

  it('local modifications fail without force, are discarded with it', () => {
    expect(() => gitPlan(P, state({ mods: true }), ctx())).toThrow('Local modifications exist in the destination: /srv/app (force=no).');
    expect(kinds({ ...P, force: true }, state({ mods: true }))).toEqual(['reset']);
  });

  it('a changed repo URL sets the remote URL', () => {
    const plan = gitPlan(P, state({ url: 'https://old.example/app.git' }), ctx());
    expect(plan.map((c) => c.op.kind)).toEqual(['set_url']);
    expect(plan[0]!.summary).toBe(`remote origin of /srv/app: https://old.example/app.git → ${P.repo}`);
  });

  it('update: false and clone: false change nothing', () => {
    expect(kinds({ ...P, update: false }, state({ refs: { 'refs/heads/main': B } }))).toEqual([]);
    expect(kinds({ ...P, clone: false }, state({ exists: false }))).toEqual([]);
  });

  it('submodules out of date are updated when the checkout is at the version', () => {
    expect(kinds(P, state({ subsDirty: true }))).toEqual(['submodules']);
  });

  it('fails loudly: no git, a non-empty dest, an unreachable remote', () => {
    expect(() => gitPlan(P, state({ gitMissing: true }), ctx())).toThrow(/git is not installed/);
    expect(() => gitPlan(P, state({ exists: false, destNotEmpty: true }), ctx())).toThrow(/not an empty directory/);
    expect(() => gitPlan(P, state({ refs: {}, lsError: 'fatal: could not read' }), ctx())).toThrow(/ls-remote .* failed: fatal/);
  });
});

describe('git fetch refspecs (Ansible fetch())', () => {
  it('fetches all branches and tags by default', () => {
    expect(fetchArgs(P, 'head')).toEqual(['--tags', "'origin'", "'+refs/heads/*:refs/remotes/origin/*'"]);
  });
  it('fetches only the branch with depth', () => {
    const a = fetchArgs({ ...P, version: 'dev', depth: 1 }, 'branch');
    expect(a.slice(0, 2)).toEqual(['--depth', '1']);
    expect(a).toContain("'+refs/heads/dev:refs/remotes/origin/dev'");
  });
  it('falls back to a full fetch for a SHA with depth', () => {
    expect(fetchArgs({ ...P, version: A, depth: 1, force: true }, 'sha')).toEqual([
      '--tags',
      '--force',
      "'origin'",
      "'+refs/heads/*:refs/remotes/origin/*'",
    ]);
  });
});

describe('git scripts', () => {
  it('probe and apply parse as POSIX sh', () => {
    const p: GitParams = { ...P, version: 'dev', depth: 1, key_file: '/root/.ssh/deploy', accept_newhostkey: true, umask: '0022' };
    expect(shSyntax(gitProbe(p))).toBe('');
    for (const op of [
      { kind: 'clone', ref: 'branch', sha: B },
      { kind: 'update', ref: 'branch', sha: B },
      { kind: 'reset' },
      { kind: 'set_url' },
      { kind: 'submodules' },
    ] as const)
      expect(shSyntax(gitApply(p, [op]))).toBe('');
  });
  it('passes ssh options as Ansible does (key, IdentitiesOnly, accept-new, BatchMode)', () => {
    const s = gitProbe({ ...P, key_file: '/k', accept_newhostkey: true, ssh_opts: '-o Port=2222' });
    expect(s).toContain(
      `export GIT_SSH_COMMAND='ssh -i '"'"'/k'"'"' -o IdentitiesOnly=yes '"'"'-o'"'"' '"'"'Port=2222'"'"' '"'"'-o'"'"' '"'"'StrictHostKeyChecking=accept-new'"'"' -o BatchMode=yes'`,
    );
  });
});
