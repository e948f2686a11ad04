import { InputError } from '@scalable-api/core';

/**
 * Inputs, outputs and progress cross machines as JSON text. `JSON.stringify` alone would store
 * a `Date` as a string, a `Map` as `{}` and `NaN` as `null`, so a job would read back something
 * other than what was submitted; such values are refused up front instead, with a path to the
 * offending value. `undefined` at the top encodes as the empty string (stored as "absent").
 */
export function encodeJson(value: unknown, what: string): string {
  if (value === undefined) return '';
  const problem = findNonJson(value, []);
  if (problem) throw new InputError('INPUT_INVALID', `${what} is not plain JSON: $${problem.path.reverse().join('')} ${problem.what}.`);
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

/** What is wrong and where: the path's steps are added innermost first, on the way back up. */
interface Problem {
  path: string[];
  what: string;
}

/**
 * Walks the value the way `JSON.stringify` will. It runs on every input and output, so the path
 * to a value is built only for the one that is refused, and the objects on the way down are kept
 * in an array (a plain value is rarely deep) rather than a `Set`.
 */
function findNonJson(value: unknown, seen: object[]): Problem | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : { path: [], what: `is ${value}` };
    case 'object': {
      if (value === null) return undefined;
      if (seen.includes(value)) return { path: [], what: 'is circular' };
      const proto: unknown = Object.getPrototypeOf(value);
      const isArray = Array.isArray(value);
      if (!isArray && proto !== Object.prototype && proto !== null) {
        return { path: [], what: `is a ${value.constructor?.name ?? 'non-plain object'}` };
      }
      seen.push(value);
      let problem: Problem | undefined;
      if (isArray) {
        for (let i = 0; i < value.length && !problem; i++) {
          const item: unknown = value[i];
          problem = item === undefined ? { path: [], what: 'is undefined' } : findNonJson(item, seen);
          problem?.path.push(`[${i}]`);
        }
      } else {
        for (const key in value) {
          if (!Object.hasOwn(value, key)) continue;
          const item: unknown = (value as Record<string, unknown>)[key];
          // Like JSON itself, an undefined property is simply left out.
          if (item === undefined) continue;
          problem = findNonJson(item, seen);
          if (problem) {
            problem.path.push(`.${key}`);
            break;
          }
        }
      }
      seen.pop();
      return problem;
    }
    default:
      return { path: [], what: `is a ${typeof value}` };
  }
}
