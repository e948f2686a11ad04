import type { FastifyBodyParser, FastifyInstance } from 'fastify';
import { nestingDepth } from './json-body-parser.js';
import { HttpProblemError } from './problem.js';

/**
 * `application/x-ndjson` for batch submits: one JSON value a line, blank lines skipped. Each line
 * goes through the same guards as a JSON body (fastify's parser refusing `__proto__` and
 * `constructor.prototype`, the nesting bound), and a bad line is a 400 that names its number.
 */
export function ndjsonBodyParser(app: FastifyInstance, maxDepth: number): FastifyBodyParser<string> {
  const parse = app.getDefaultJsonParser('error', 'error');
  return function parseNdjson(request, body, done) {
    const values: unknown[] = [];
    const lines = body.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === '') continue;
      if (line.length > maxDepth && nestingDepth(line, maxDepth) > maxDepth) {
        return done(new HttpProblemError('MALFORMED_REQUEST', `Line ${i + 1}: JSON nested deeper than ${maxDepth} levels.`), undefined);
      }
      let failure: Error | null = null;
      // The default parser is synchronous and answers through its callback.
      void parse(request, line, (error, value) => {
        if (error) failure = error;
        else values.push(value);
      });
      if (failure !== null) return done(new HttpProblemError('MALFORMED_REQUEST', `Line ${i + 1}: ${(failure as Error).message}`), undefined);
    }
    done(null, values);
  };
}
