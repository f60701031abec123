/**
 * Where a task's relative files are found, as Ansible's task search path gives them: the task's
 * role and the roles that pulled it in (innermost first), the directory of the task's file (its
 * role's directory for a role's tasks/), the playbook's directory. Under each, `<kind>/x` then `x`
 * (kind: files, templates, vars). Used for copy/template `src` and for lookups (LookupContext).
 */
import { dirname, join } from 'node:path';
import type { LookupContext } from '../../template/jinja/callables.ts';
import type { TaskDef } from './types.ts';

/** The search directories of a task (or of the play, without one), most specific first. */
export function searchDirs(task: TaskDef | undefined, playbookDir: string): string[] {
  const dirs: string[] = [];
  for (const r of [...(task?.scope?.chain ?? [])].reverse()) dirs.push(r.role.dir);
  if (task?.role && !dirs.includes(task.role.dir)) dirs.push(task.role.dir);
  if (task) {
    let taskDir = dirname(task.yaml.file);
    if (task.role && taskDir.startsWith(task.role.dir)) taskDir = task.role.dir;
    if (!dirs.includes(taskDir)) dirs.push(taskDir);
  }
  if (!dirs.includes(playbookDir)) dirs.push(playbookDir);
  return dirs;
}

/** The lookups' context of a task (or of the play): search paths, the controller's environment, the project directory. */
export function lookupContext(task: TaskDef | undefined, playbookDir: string): LookupContext {
  const dirs = searchDirs(task, playbookDir);
  return {
    searchPaths: (kind) => dirs.flatMap((d) => [join(d, kind), d]),
    env: process.env,
    projectDir: playbookDir,
  };
}
