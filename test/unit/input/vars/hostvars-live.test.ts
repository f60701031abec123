/**
 * hostvars is live (Ansible's HostVars reads the variable manager at each access): a template that
 * reads hostvars[x] sees what x registered or set since, even when an earlier template (any task,
 * on any host, or the validation of a later play) already read hostvars. The template engine
 * converts controller data to Python values once per object; hostvars must never be frozen by it
 * (the db-switchover playbook promoted without waiting for the fenced writer's GTID because
 * hostvars[writer].db_fence read as undefined, frozen before the fence ran).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Secret } from '../../../../src/core/secret/secret.ts';
import { loadInventory } from '../../../../src/input/inventory/index.ts';
import { VarsBuilder } from '../../../../src/input/inventory/vars-builder.ts';
import { loadPlaybook } from '../../../../src/input/playbook/load.ts';
import { moduleCatalog } from '../../../../src/modules/registry.ts';
import { renderTemplateInfo, renderValue } from '../../../../src/template/engine.ts';

const dir = mkdtempSync(join(tmpdir(), 'kiln-hostvars-live-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('hostvars through templates', () => {
  writeFileSync(join(dir, 'hosts.yml'), 'all:\n  hosts:\n    a: { address: 10.77.0.1 }\n    b: { address: 10.77.0.2 }\n');
  writeFileSync(join(dir, 'pb.yml'), '- hosts: all\n  tasks:\n    - command: "true"\n');
  const { inventory } = loadInventory([join(dir, 'hosts.yml')]);
  const { playbook } = loadPlaybook(join(dir, 'pb.yml'), { modules: moduleCatalog });
  const play = playbook.plays[0]!;
  const registered = new Map<string, Record<string, unknown>>([
    ['a', {}],
    ['b', {}],
  ]);
  const vb = new VarsBuilder(inventory, {
    extraVars: {},
    check: false,
    playbook: join(dir, 'pb.yml'),
    registered: (h) => registered.get(h),
  });
  const onB = () => vb.forTask('b', play, ['a', 'b'], play.tasks[0]);

  it("sees another host's register and set_fact made after an earlier template read hostvars", () => {
    const t = "{{ hostvars['a'].fence.pos | default('none') }}";
    expect(renderValue(t, onB())).toBe('none');
    expect(renderValue("{{ hostvars | length }} {{ hostvars['a'].address }}", onB())).toBe('2 10.77.0.1');
    registered.get('a')!.fence = { changed: true, pos: '0-171-93' };
    expect(renderValue(t, onB())).toBe('0-171-93');
    // The same context object, read again after a change (a task's cached variables).
    const vars = onB();
    expect(renderValue("{{ hostvars['a'].w | default('-') }}", vars)).toBe('-');
    registered.get('a')!.w = 'b';
    expect(renderValue("{{ hostvars['a'].w | default('-') }}", vars)).toBe('b');
    // Through `vars` (Ansible's vars holds hostvars too) and by iteration.
    expect(renderValue("{{ vars['hostvars']['a'].w }}", onB())).toBe('b');
    expect(renderValue("{{ hostvars | dict2items | map(attribute='value.address') | join(',') }}", onB())).toBe('10.77.0.1,10.77.0.2');
    expect(renderValue("{{ 'a' in hostvars and 'c' not in hostvars }}", onB())).toBe(true);
  });

  it("a secret read through hostvars still marks the render's result secret", () => {
    registered.get('a')!.pw = new Secret('s3cret', 'vault');
    // Only a read of the secret is sensitive: another variable of the host holding it is not.
    expect(renderTemplateInfo("{{ hostvars['b'].address }}", onB(), 't').sensitive).toBe(false);
    expect(renderTemplateInfo("{{ hostvars['a'].address }}", onB(), 't').sensitive).toBe(false);
    expect(renderTemplateInfo("{{ groups['all'] | map('extract', hostvars, 'address') | join(',') }}", onB(), 't').sensitive).toBe(false);
    // Reading every variable of the host (iterating, printing the dict) reads the secret too.
    expect(renderTemplateInfo("{{ hostvars['a'] | dict2items | length }}", onB(), 't').sensitive).toBe(true);
    const r = renderTemplateInfo("{{ hostvars['a'].pw }}", onB(), 't');
    expect(r.sensitive).toBe(true);
    // renderValue taints the result: a Secret, never the plain text.
    const v = renderValue("{{ hostvars['a'].pw }}", onB());
    expect(v).toBeInstanceOf(Secret);
  });
});
