/**
 * Variable names that are JavaScript's own: `__proto__`, `constructor`, `toString`, … (every
 * property of Object.prototype). Kiln keeps variables in JavaScript objects, where such a name is
 * not an ordinary key (`__proto__` sets the prototype, `constructor` is found on every object), so
 * a variable with one of these names would be lost or misread. Ansible accepts them; Kiln refuses
 * them, located, rather than silently lose them.
 */
const RESERVED = new Set(Object.getOwnPropertyNames(Object.prototype));

/** The problem with variable name `name`, or undefined when Kiln can hold it. */
export function reservedVarNameProblem(name: string): string | undefined {
  return RESERVED.has(name)
    ? `variable name '${name}' is not supported: it is a property of every JavaScript object, so Kiln could not keep it as a variable (rename it)`
    : undefined;
}
