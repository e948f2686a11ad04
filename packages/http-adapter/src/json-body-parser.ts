import type { FastifyBodyParser, FastifyInstance } from 'fastify';
import { HttpProblemError } from './problem.js';

/**
 * The JSON parser of the job routes, whatever the host app configured: `__proto__` and
 * `constructor.prototype` keys are errors (400), not silently kept or dropped, and nesting
 * deeper than `maxDepth` is refused before `JSON.parse` sees it, so no later recursive walk
 * (a schema, `JSON.stringify`, a structured clone) can overflow the stack on a hostile body.
 */
export function jsonBodyParser(app: FastifyInstance, maxDepth: number): FastifyBodyParser<string> {
  const parse = app.getDefaultJsonParser('error', 'error');
  return function parseJson(request, body, done) {
    // A body shorter than the depth bound cannot be nested past it: skip the scan.
    if (body.length > maxDepth && nestingDepth(body, maxDepth) > maxDepth) {
      done(new HttpProblemError('MALFORMED_REQUEST', `JSON nested deeper than ${maxDepth} levels.`), undefined);
      return;
    }
    // The default parser is synchronous and answers through `done`; its return value carries nothing.
    void parse(request, body, done);
  };
}

/** Depth of `[`/`{` nesting outside strings; stops counting once past `limit`. */
export function nestingDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return max;
}
