import fc from 'fast-check';

type Schema = Record<string, unknown> | boolean;

/**
 * A fast-check arbitrary of the JSON values a JSON Schema (2020-12) accepts, for the keywords
 * the adapter's document uses: type (or a list), const, enum, anyOf/oneOf, numeric bounds,
 * string lengths and pattern, object properties/required/additionalProperties/propertyNames,
 * array items and lengths. A schema with a keyword it does not know is an error, so the contract
 * test cannot silently generate from less than the document says.
 *
 * @example
 * fc.assert(fc.property(arbitraryOf({ type: 'integer', minimum: 0 }), (n) => n >= 0));
 */
export function arbitraryOf(schema: Schema): fc.Arbitrary<unknown> {
  if (schema === true) return fc.jsonValue();
  if (schema === false) throw new Error('no value satisfies the schema `false`');
  const known = new Set([
    ...['type', 'const', 'enum', 'anyOf', 'oneOf', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'],
    ...['minLength', 'maxLength', 'pattern', 'properties', 'required', 'additionalProperties', 'propertyNames'],
    ...['items', 'minItems', 'maxItems', 'description', 'title', 'format', 'contentMediaType', '$schema', 'default'],
  ]);
  const unknown = Object.keys(schema).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new Error(`arbitraryOf: unsupported keywords ${unknown.join(', ')}`);
  if ('const' in schema) return fc.constant(schema['const']);
  if (Array.isArray(schema['enum'])) return fc.constantFrom(...(schema['enum'] as unknown[]));
  const union = (schema['anyOf'] ?? schema['oneOf']) as Schema[] | undefined;
  if (union) return fc.oneof(...union.map((member) => arbitraryOf(typeof member === 'object' ? { ...withoutUnion(schema), ...member } : member)));
  const type = schema['type'];
  if (Array.isArray(type)) return fc.oneof(...type.map((t: string) => arbitraryOf({ ...schema, type: t })));
  switch (type) {
    case undefined:
      return fc.jsonValue();
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'integer':
      return fc.integer({ min: bound(schema, 'min', -1e9), max: bound(schema, 'max', 1e9) });
    case 'number':
      return fc.double({ min: bound(schema, 'min', -1e9), max: bound(schema, 'max', 1e9), noNaN: true, noDefaultInfinity: true });
    case 'string':
      return stringOf(schema);
    case 'array': {
      const items = arbitraryOf((schema['items'] as Schema | undefined) ?? true);
      return fc.array(items, { minLength: (schema['minItems'] as number) ?? 0, maxLength: (schema['maxItems'] as number) ?? 5 });
    }
    case 'object':
      return objectOf(schema);
    default:
      throw new Error(`arbitraryOf: unsupported type ${String(type)}`);
  }
}

function withoutUnion(schema: Record<string, unknown>): Record<string, unknown> {
  const { anyOf: _a, oneOf: _o, ...rest } = schema;
  return rest;
}

function bound(schema: Record<string, unknown>, side: 'min' | 'max', fallback: number): number {
  const inclusive = schema[side === 'min' ? 'minimum' : 'maximum'];
  if (typeof inclusive === 'number') return inclusive;
  const exclusive = schema[side === 'min' ? 'exclusiveMinimum' : 'exclusiveMaximum'];
  if (typeof exclusive === 'number') return side === 'min' ? exclusive + 1 : exclusive - 1;
  return fallback;
}

function stringOf(schema: Record<string, unknown>): fc.Arbitrary<string> {
  const minLength = (schema['minLength'] as number | undefined) ?? 0;
  const maxLength = (schema['maxLength'] as number | undefined) ?? 40;
  if (typeof schema['pattern'] === 'string') {
    return fc.stringMatching(new RegExp(schema['pattern'])).filter((s) => s.length >= minLength && s.length <= maxLength);
  }
  return fc.string({ minLength, maxLength, unit: 'grapheme' });
}

function objectOf(schema: Record<string, unknown>): fc.Arbitrary<Record<string, unknown>> {
  const properties = (schema['properties'] as Record<string, Schema> | undefined) ?? {};
  const required = new Set((schema['required'] as string[] | undefined) ?? []);
  const known = fc.record(Object.fromEntries(Object.entries(properties).map(([key, value]) => [key, arbitraryOf(value)])), {
    requiredKeys: [...required].filter((key) => key in properties),
  });
  const additional = schema['additionalProperties'];
  if (additional === false) return known;
  const keys = schema['propertyNames'] ? (arbitraryOf(schema['propertyNames'] as Schema) as fc.Arbitrary<string>) : fc.string({ maxLength: 10 });
  const extra = fc.dictionary(
    keys.filter((key) => !(key in properties) && key !== '__proto__' && key !== 'constructor'),
    arbitraryOf(additional === undefined ? true : (additional as Schema)),
    { maxKeys: 4 },
  );
  return fc.tuple(known, extra).map(([a, b]) => ({ ...b, ...a }));
}
