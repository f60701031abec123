/**
 * Derives a TypeScript type from a JSON schema literal (`as const`), so a module's params
 * type follows its schema. Covers the subset Kiln's module schemas use.
 */
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
  : Record<string, unknown>;

export type FromSchema<S> = S extends { enum: readonly (infer E)[] }
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
