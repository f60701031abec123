/** The trees the tools leave on a host: the listing script, its parsing (tool name → TOOL) and the comparison. */
import { describe, expect, it } from 'vitest';
import { compareTrees, roundOrder, type Tool } from '../../../bench/driver/pairs.ts';
import { diffTrees, parseTree, treeScript, type TreeEntry } from '../../../bench/driver/trees.ts';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const listing = (tool: string, mode = '644', extra = ''): string =>
  [
    `/etc/systemd/system/kbench-${tool}-1.service|regular file root root 644|${b64(`Description=Benchmark service 1 (${tool})\n`)}`,
    `/etc/systemd/system/multi-user.target.wants/kbench-${tool}-1.service|symbolic link root root 777|${b64(`/etc/systemd/system/kbench-${tool}-1.service`)}`,
    `/opt/kbench-${tool}|directory deploy deploy 750|`,
    `/opt/kbench-${tool}/settings.ini|regular file root root ${mode}|${b64('key1=value1\n')}`,
    extra,
    `unit kbench-${tool}-1|active enabled|`,
    '',
  ].join('\n');

describe('treeScript', () => {
  it("lists the tool's paths and units only", () => {
    const s = treeScript('pyinfra');
    expect(s).toContain("-path '/opt/kbench-pyinfra/*'");
    expect(s).toContain("-name 'kbench-pyinfra-*'");
    expect(s).toContain('systemctl is-active kbench-pyinfra-$n');
  });

  it('refuses a tool name that is not a plain word', () => {
    expect(() => treeScript("x'; rm -rf /")).toThrow(/bad tool name/);
  });
});

describe('parseTree', () => {
  it('replaces the tool name by TOOL in paths and contents, decodes contents', () => {
    const t = parseTree(listing('kiln'), 'kiln');
    expect(t).toHaveLength(5);
    expect(t[0]).toEqual({
      path: '/etc/systemd/system/kbench-TOOL-1.service',
      meta: 'regular file root root 644',
      content: 'Description=Benchmark service 1 (TOOL)\n',
    });
    expect(t[1].content).toBe('/etc/systemd/system/kbench-TOOL-1.service');
    expect(t[4]).toEqual({ path: 'unit kbench-TOOL-1', meta: 'active enabled', content: '' });
  });

  it('refuses a line it does not understand', () => {
    expect(() => parseTree('garbage\n', 'kiln')).toThrow(/unexpected tree line/);
  });
});

describe('diffTrees', () => {
  const kiln = parseTree(listing('kiln'), 'kiln');

  it('finds two tools identical modulo the tool name', () => {
    expect(diffTrees(kiln, parseTree(listing('pyinfra'), 'pyinfra'), 'Kiln', 'pyinfra')).toEqual([]);
  });

  it('names a mode, a content and a missing or extra path', () => {
    const other = parseTree(listing('pyinfra', '600', `/opt/kbench-pyinfra/extra|regular file root root 644|${b64('x')}`), 'pyinfra');
    other[0] = { ...other[0], content: 'Description=other\n' };
    expect(diffTrees(kiln, other, 'Kiln', 'pyinfra')).toEqual([
      '/etc/systemd/system/kbench-TOOL-1.service: contents differ (39 bytes for Kiln, 18 for pyinfra)',
      '/opt/kbench-TOOL/settings.ini: Kiln `regular file root root 644`, pyinfra `regular file root root 600`',
      '/opt/kbench-TOOL/extra: only pyinfra has it',
    ]);
    expect(diffTrees(kiln, other.slice(1), 'Kiln', 'pyinfra')[0]).toBe('/etc/systemd/system/kbench-TOOL-1.service: only Kiln has it');
  });

  it('says when a tool left nothing', () => {
    expect(diffTrees(kiln, [], 'Kiln', 'Ansible')).toContain('Ansible left nothing on the host');
  });
});

describe('compareTrees', () => {
  const tree = (tool: string, mode?: string): TreeEntry[] => parseTree(listing(tool, mode), tool);

  it("compares every tool with Kiln's and notes those that differ", () => {
    const notes: string[] = [];
    const trees = new Map<Tool, TreeEntry[]>([
      ['pyinfra', tree('pyinfra')],
      ['kiln', tree('kiln')],
      ['ansible', tree('ansible', '600')],
    ]);
    expect(compareTrees(notes, 'f1-n5-r1', trees)).toEqual(['ansible']);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(/^\*\*f1-n5-r1: the tree Ansible left differs from Kiln's\*\*: \/opt\/kbench-TOOL\/settings\.ini: Kiln/);
  });

  it('takes the first tool as the reference without Kiln, and nothing with no trees', () => {
    const notes: string[] = [];
    expect(
      compareTrees(
        notes,
        'x',
        new Map([
          ['ansible', tree('ansible')],
          ['mitogen', tree('mitogen', '600')],
        ]),
      ),
    ).toEqual(['mitogen']);
    expect(compareTrees(notes, 'x', new Map())).toEqual([]);
  });
});

describe('roundOrder', () => {
  it('rotates the tools so each runs first in turn', () => {
    const tools: Tool[] = ['kiln', 'ansible', 'mitogen', 'pyinfra'];
    expect(roundOrder(tools, 0)).toEqual(tools);
    expect(roundOrder(tools, 1)).toEqual(['ansible', 'mitogen', 'pyinfra', 'kiln']);
    expect(roundOrder(tools, 5)).toEqual(roundOrder(tools, 1));
    expect(roundOrder([], 3)).toEqual([]);
  });
});
