import { InputError } from '@scalable-api/core';

/**
 * Inputs, outputs and progress cross machines as JSON text. `JSON.stringify` alone would store
 * a `Date` as a string, a `Map` as `{}` and `NaN` as `null`, so a job would read back something
 * other than what was submitted; such values are refused up front instead, with a path to the
 * offending value. `undefined` at the top encodes as the empty string (stored as "absent").
 */
export function encodeJson(value: unknown, what: string): string {
  if (value === undefined) return '';
  const problem = findNonJson(value, '$', new Set());
  if (problem) throw new InputError('INPUT_INVALID', `${what} is not plain JSON: ${problem}.`);
  return JSON.stringify(value);
}

/** The inverse of `encodeJson`; a missing or empty field is `undefined`. */
export function decodeJson(text: string | undefined | null): unknown {
  return text === undefined || text === null || text === '' ? undefined : JSON.parse(text);
}

/** Error objects are our own data (codes, messages, details), so they are encoded leniently. */
export function encodeError(error: unknown): string {
  return JSON.stringify(error ?? null);
}

/**
 * Ids, names and roots go into event JSON built by Lua without escaping, so they must not need
 * any: no quote, backslash or control character. Generated ids (nanoid) and job names
 * (`defineJob` checks them) always pass.
 */
export function assertPlainText(value: string, what: string): void {
  if (/["\\\u0000-\u001f]/.test(value)) throw new TypeError(`job ${what} ${JSON.stringify(value)} contains a quote, backslash or control character`);
}

function findNonJson(value: unknown, path: string, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${value}`;
    case 'object': {
      if (value === null) return undefined;
      if (seen.has(value)) return `${path} is circular`;
      const proto: unknown = Object.getPrototypeOf(value);
      const isArray = Array.isArray(value);
      if (!isArray && proto !== Object.prototype && proto !== null) {
        return `${path} is a ${value.constructor?.name ?? 'non-plain object'}`;
      }
      seen.add(value);
      if (isArray) {
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) return `${path}[${i}] is undefined`;
          const problem = findNonJson(item, `${path}[${i}]`, seen);
          if (problem) return problem;
        }
      } else {
        for (const [key, item] of Object.entries(value)) {
          // Like JSON itself, an undefined property is simply left out.
          if (item === undefined) continue;
          const problem = findNonJson(item, `${path}.${key}`, seen);
          if (problem) return problem;
        }
      }
      seen.delete(value);
      return undefined;
    }
    default:
      return `${path} is a ${typeof value}`;
  }
}
