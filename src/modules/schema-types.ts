/**
 * Derives a TypeScript type from a JSON schema literal (`as const`), so a module's params
 * type follows its schema. Covers the subset Kiln's module schemas use.
 *
 * A property marked `'x-secret': true` is a secret (a password, a key): the
 * engine turns its value into a `Secret` before the module sees it (also when it was written in
 * plain text), so its type is `string | Secret`. It is the one way a module declares a secret.
 */
import type { Secret } from '../core/secret/secret.ts';

export type JSONSchema = {
  readonly type?: string | readonly string[];
  readonly properties?: { readonly [k: string]: JSONSchema };
  readonly required?: readonly string[];
  readonly items?: JSONSchema;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly oneOf?: readonly JSONSchema[];
  readonly anyOf?: readonly JSONSchema[];
  readonly additionalProperties?: boolean | JSONSchema;
  readonly [k: string]: unknown;
};

type TypeName<T> = T extends 'string'
  ? string
  : T extends 'integer' | 'number'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'null'
        ? null
        : T extends 'array'
          ? unknown[]
          : T extends 'object'
            ? Record<string, unknown>
            : unknown;

type Props<S> = S extends { properties: infer P }
  ? S extends { required: readonly (infer R)[] }
    ? { -readonly [K in keyof P as K extends R ? K : never]: FromSchema<P[K]> } & {
        -readonly [K in keyof P as K extends R ? never : K]?: FromSchema<P[K]>;
      }
    : { -readonly [K in keyof P]?: FromSchema<P[K]> }
  : S extends { additionalProperties: infer A extends JSONSchema }
    ? Record<string, FromSchema<A>>
    : Record<string, unknown>;

/** The top-level properties a schema marks `'x-secret': true`. */
export function secretProperties(schema: JSONSchema): string[] {
  return Object.entries(schema.properties ?? {})
    .filter(([, s]) => s['x-secret'] === true)
    .map(([k]) => k);
}

export type FromSchema<S> = S extends { 'x-secret': true }
  ? string | Secret
  : S extends { enum: readonly (infer E)[] }
    ? E
    : S extends { type: 'object' }
      ? Props<S>
      : S extends { oneOf: readonly (infer O)[] }
        ? FromSchema<O>
        : S extends { anyOf: readonly (infer O)[] }
          ? FromSchema<O>
          : S extends { type: 'array'; items: infer I }
            ? FromSchema<I>[]
            : S extends { type: readonly (infer T)[] }
              ? T extends 'array'
                ? S extends { items: infer I }
                  ? FromSchema<I>[]
                  : unknown[]
                : TypeName<T>
              : S extends { type: infer T }
                ? TypeName<T>
                : unknown;
