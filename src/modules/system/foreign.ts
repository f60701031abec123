/**
 * `foreign`: a task of a module that manages another operating system (yum, dnf, pacman, zypper,
 * win_*, …: OTHER_OS_MODULES in src/input/playbook/keywords.ts). Roles that branch on the OS hold
 * such tasks behind a `when:`; the loader accepts them as tasks of this module so that the role
 * loads, and keeps only the module's name (`module`): its arguments are never rendered nor sent.
 * Wherever the task would run on a targeted host it fails, located at the task: at validation when
 * its `when:` holds then (or it has none), else at run time on the controller, before any probe
 * (binding it throws, so it costs no round trip and never reaches the host).
 *
 * It is not in the module list (`kiln modules`) and a playbook cannot name it: only the loader
 * makes tasks of it.
 */
import type { JSONSchema } from '../schema-types.ts';
import type { BoundModule } from '../contract.ts';

/** The message a task of module `name` fails with. */
export const foreignMessage = (name: string, option?: string): string =>
  option === undefined
    ? `module '${name}' manages another operating system (Kiln targets Debian)`
    : `${name}: option '${option}' is yum's and dnf's: on Debian, package runs apt, which refuses it (Kiln targets Debian)`;

const schema: JSONSchema = {
  type: 'object',
  properties: {
    module: { type: 'string', description: "the other operating system's module the task names" },
    option: { type: 'string', description: "a `package` task's option that only another system's package manager has" },
  },
  required: ['module'],
  additionalProperties: false,
};

const foreign: BoundModule = {
  name: 'foreign',
  description: 'a task of a module for another operating system: fails wherever it would run',
  schema,
  bind(params) {
    throw new Error(foreignMessage(String(params.module), typeof params.option === 'string' ? params.option : undefined));
  },
};

export default foreign;
