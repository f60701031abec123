/**
 * `ansible_failed_task`: the task that failed, as a block's `rescue` (and `always`) sees it. Ansible
 * gives its Task.serialize(): Kiln gives the keys roles use — `name`, `action` (the module key as
 * written), `args` (the module's arguments as written: a mapping, or `_raw_params` for a free-form
 * command/shell/raw/script line) — and `when`, `tags`, `register`, `notify`, `loop` when the task
 * sets them. Any other key is undefined (an error naming it), never a made-up value.
 */
import { isMap, isScalar } from 'yaml';
import type { TaskDef } from '../input/playbook/types.ts';
import { nodeAt } from '../input/yaml/document.ts';

const FREE_FORM = new Set(['command', 'shell', 'raw', 'script']);

function argsOf(task: TaskDef): Record<string, unknown> | undefined {
  const node = nodeAt(task.yaml.doc.contents, task.modulePath);
  if (isMap(node)) return node.toJSON() as Record<string, unknown>;
  const short = task.ansibleModule.split('.').pop()!;
  if (isScalar(node) && typeof node.value === 'string' && FREE_FORM.has(short)) return { _raw_params: node.value };
  return undefined;
}

export function failedTaskVar(task: TaskDef): Record<string, unknown> {
  const args = argsOf(task);
  return {
    name: task.name,
    action: task.ansibleModule,
    ...(args ? { args } : {}),
    ...(task.when.length ? { when: task.when.map((c) => c.expr) } : {}),
    ...(task.tags.length ? { tags: task.tags } : {}),
    ...(task.register ? { register: task.register } : {}),
    ...(task.notify.length ? { notify: task.notify } : {}),
    ...(task.loop !== undefined ? { loop: task.loop } : {}),
  };
}
