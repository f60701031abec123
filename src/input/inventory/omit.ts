/**
 * Ansible's `omit`: a placeholder string (`__omit_place_holder__` and a random sha1, one per run
 * of the process) given to every task as the variable `omit`. A module parameter whose value is
 * exactly the placeholder is removed (plan/instance.ts), as if it had not been written; a keyword
 * whose value is the placeholder gets its default.
 */
import { createHash, randomBytes } from 'node:crypto';

export const OMIT = `__omit_place_holder__${createHash('sha1').update(randomBytes(64)).digest('hex')}`;
