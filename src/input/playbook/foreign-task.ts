/**
 * A task of a module for another operating system (yum, pacman, win_service, …: OTHER_OS_MODULES
 * in keywords.ts), written with the module as its key or through `action:`. It loads as a task of
 * Kiln's `foreign` module (src/modules/system/foreign.ts), which fails wherever the task would
 * run; only the module's name is kept (its arguments are never rendered nor checked: the task
 * does not run on Debian).
 */
import type { YamlCursor } from '../yaml/document.ts';
import { otherOsModule } from './keywords.ts';
import type { TaskArgs } from './task-args.ts';

/** The module name `action:` gives (`action: yum name=x`, `action: { module: yum }`). */
function actionModule(value: unknown): string | undefined {
  const text = typeof value === 'string' ? value : value && typeof value === 'object' ? (value as { module?: unknown }).module : undefined;
  return typeof text === 'string' ? /^\s*(\S+)/.exec(text)?.[1] : undefined;
}

/** The foreign task's arguments when `key` (a module key, or `action`) names another OS's module. */
export function foreignTaskArgs(c: YamlCursor, key: string): TaskArgs | undefined {
  const moduleKey = key === 'action' ? actionModule((c.value as Record<string, unknown>).action) : key;
  if (moduleKey === undefined || !otherOsModule(moduleKey)) return undefined;
  const at = [...c.path, key];
  return { moduleKey, module: 'foreign', params: { module: moduleKey }, paramPaths: { module: at }, modulePath: at };
}
