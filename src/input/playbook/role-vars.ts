/**
 * A role instance's defaults, vars and parameters as Ansible's Role object computes them
 * (ansible/playbook/role/__init__.py: get_default_vars, get_vars, get_role_params), dependencies
 * and the chain of roles above included, in Ansible's merge order (later wins; whole values
 * replace, hash_behaviour=replace).
 */
import type { RoleRef } from './types.ts';

/** Ansible's get_all_dependencies: each dependency after its own, recursively, in order. */
export function allDependencies(ref: RoleRef): RoleRef[] {
  const out: RoleRef[] = [];
  for (const dep of ref.deps) {
    out.push(...allDependencies(dep));
    out.push(dep);
  }
  return out;
}

/** get_default_vars(dep_chain): the dependencies' defaults, the chain's, then the role's own. */
export function roleDefaults(ref: RoleRef, chain: RoleRef[] = []): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  for (const dep of allDependencies(ref)) out = { ...out, ...roleDefaults(dep) };
  for (const parent of chain) out = { ...out, ...parent.role.defaults };
  return { ...out, ...ref.role.defaults };
}

/**
 * get_vars(dep_chain, include_params=False): the chain's entry vars and role vars, the
 * dependencies' vars, then the entry's `vars:` and the role's vars/main.yml.
 */
export function roleVars(ref: RoleRef, chain: RoleRef[] = []): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  for (const parent of chain) out = { ...out, ...parent.vars, ...parent.role.vars };
  for (const dep of allDependencies(ref)) out = { ...out, ...roleVars(dep) };
  return { ...out, ...ref.vars, ...ref.role.vars };
}

/** get_role_params(dep_chain): the chain's parameters, then the role's own. */
export function roleParams(ref: RoleRef, chain: RoleRef[] = []): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  for (const parent of chain) out = { ...out, ...parent.params };
  return { ...out, ...ref.params };
}
