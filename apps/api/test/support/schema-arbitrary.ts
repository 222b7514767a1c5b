import fc from 'fast-check';

/** The subset of JSON Schema that the route schemas (TypeBox, through OpenAPI 3.1) use. */
export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  $ref?: string;
}

const UUID = /^\^?\[0-9a-fA-F\]\{8\}/;

/**
 * Values that mostly satisfy the schema (so requests get past validation and reach the services),
 * with `pick` choosing values such as ids known to exist for string fields that name an id.
 */
export function arbitraryFor(
  schema: JsonSchema,
  pick: { ids: fc.Arbitrary<string> },
  depth = 0,
): fc.Arbitrary<unknown> {
  if (depth > 6) return fc.constant(null);
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const union = schema.anyOf ?? schema.oneOf;
  if (union?.length) return fc.oneof(...union.map((option) => arbitraryFor(option, pick, depth + 1)));
  if (schema.allOf?.length) return arbitraryFor(schema.allOf[0]!, pick, depth + 1);
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length > 1) {
    return fc.oneof(...types.map((type) => arbitraryFor({ ...schema, type }, pick, depth + 1)));
  }
  const type = types[0] ?? 'any';
  switch (type) {
    case 'object': {
      const properties = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const entries = Object.entries(properties).map(
        ([name, property]) => [name, arbitraryFor(property, pick, depth + 1)] as const,
      );
      return fc.record(Object.fromEntries(entries), {
        requiredKeys: [...required].filter((name) => name in properties),
      });
    }
    case 'array':
      return fc.array(schema.items ? arbitraryFor(schema.items, pick, depth + 1) : fc.jsonValue(), {
        minLength: schema.minItems ?? 0,
        maxLength: Math.min(schema.maxItems ?? 4, 4),
      });
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1000, max: schema.maximum ?? 100_000 });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1000, max: schema.maximum ?? 100_000, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'string':
      return stringFor(schema, pick);
    default:
      return fc.jsonValue();
  }
}

function stringFor(schema: JsonSchema, pick: { ids: fc.Arbitrary<string> }): fc.Arbitrary<string> {
  if (schema.format === 'uuid' || (schema.pattern && UUID.test(schema.pattern))) {
    return fc.oneof({ weight: 4, arbitrary: pick.ids }, { weight: 1, arbitrary: fc.uuid() });
  }
  if (schema.format === 'email') return fc.emailAddress();
  if (schema.format === 'date-time')
    return fc.date({ noInvalidDate: true }).map((date) => date.toISOString());
  if (schema.pattern) {
    try {
      return fc
        .stringMatching(new RegExp(schema.pattern))
        .filter((value) => value.length <= (schema.maxLength ?? 200));
    } catch {
      // fall through to plain strings
    }
  }
  const length = { minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 40, 40) };
  // Now and then any UTF-16 code unit, NUL and lone surrogates included: text a database cannot hold.
  return fc.oneof(
    { weight: 9, arbitrary: fc.string(length) },
    { weight: 1, arbitrary: fc.string({ ...length, unit: 'binary' }) },
    {
      weight: 1,
      arbitrary: fc.string({
        ...length,
        unit: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)),
      }),
    },
  );
}
