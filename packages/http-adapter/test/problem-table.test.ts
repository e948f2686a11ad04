import { readFile } from 'node:fs/promises';
import { errorCodes } from '@scalable-api/core';
import { describe, expect, it } from 'vitest';
import { httpProblemCodes, problemStatuses, problemType } from '../src/index.js';

const docsUrl = new URL('../../../docs/http-api.md', import.meta.url);

describe('problemStatuses', () => {
  it("gives every code of the core's errorCodes a status", () => {
    for (const code of Object.keys(errorCodes)) {
      expect(problemStatuses, code).toHaveProperty(code);
      expect(problemStatuses[code as keyof typeof problemStatuses]).toBeGreaterThanOrEqual(400);
    }
  });

  it('has exactly the core codes plus the HTTP codes, none reused', () => {
    const expected = [...Object.keys(errorCodes), ...Object.keys(httpProblemCodes)].sort();
    expect(Object.keys(problemStatuses).sort()).toEqual(expected);
    expect(new Set(expected).size).toBe(expected.length);
  });

  it('maps the statuses the API promises', () => {
    expect(problemStatuses).toMatchObject({
      JOB_TYPE_UNKNOWN: 404,
      JOB_NOT_FOUND: 404,
      MALFORMED_REQUEST: 400,
      INPUT_INVALID: 422,
      IDEMPOTENCY_CONFLICT: 422,
      PAYLOAD_TOO_LARGE: 413,
      UNSUPPORTED_MEDIA_TYPE: 415,
      QUEUE_FULL: 503,
      WAITING_PARENTS_FULL: 503,
      SHUTTING_DOWN: 503,
      UNHEALTHY: 503,
      STORE_UNAVAILABLE: 503,
      RATE_LIMITED: 429,
      UNAUTHORIZED: 401,
      IDEMPOTENCY_IN_FLIGHT: 409,
    });
  });

  it('appears in docs/http-api.md, each code with its status', async () => {
    const docs = await readFile(docsUrl, 'utf8');
    for (const [code, status] of Object.entries(problemStatuses)) {
      expect(docs, code).toMatch(new RegExp(`\\| \`${code}\` \\| ${status} \\|`));
    }
  });

  it('gives each code a distinct type URI', () => {
    const types = Object.keys(problemStatuses).map((code) => problemType(code as keyof typeof problemStatuses));
    expect(new Set(types).size).toBe(types.length);
  });
});
