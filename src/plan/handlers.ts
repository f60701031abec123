/**
 * Which handlers a notification runs, as ansible-core 2.14's strategy finds them: by name, one
 * handler — the first match in the last list of handlers that has one (the play's `handlers:` come
 * after the roles', a later role's after an earlier's) — where a role's handler also answers to
 * `<role> : <name>`; and every handler that listens to the name.
 */
import type { TaskDef } from '../input/playbook/types.ts';

/** The names a handler answers to. */
export function handlerNames(h: TaskDef): string[] {
  return h.role ? [h.name, `${h.role.name} : ${h.name}`] : [h.name];
}

/** The handlers a notification named `name` runs, in definition order. */
export function notifiedHandlers(handlers: readonly TaskDef[], name: string): TaskDef[] {
  let byName: TaskDef | undefined;
  for (const h of handlers) {
    if (!handlerNames(h).includes(name)) continue;
    if (!byName || (h.handlerBlock ?? 0) > (byName.handlerBlock ?? 0)) byName = h;
  }
  return handlers.filter((h) => h === byName || h.listen.includes(name));
}

/** Every name a notification may use in a play: handler names (role-qualified too) and listen topics. */
export function notifiableNames(handlers: readonly TaskDef[]): Set<string> {
  return new Set(handlers.flatMap((h) => [...handlerNames(h), ...h.listen]));
}
