/**
 * A plain record: an object literal or parsed YAML/JSON mapping (prototype Object.prototype or
 * null), not an array, Map, class instance or Proxy-wrapped class. What the template engine
 * converts to a dict and what secret taint walks into.
 */
export function isPlainRecord(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}
