import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { errorCodes } from '@scalable-api/core';
import { httpProblemCodes, problemStatuses } from '../src/index.js';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/errors.md', import.meta.url)), 'utf8');
const rows = new Map([...doc.matchAll(/^\| `([A-Z_]+)` \| (\d{3}) \| (.+) \|$/gm)].map((m) => [m[1]!, { status: Number(m[2]), meaning: m[3]! }]));

describe('docs/errors.md', () => {
  it('has one row per code, no more, with the status the adapter answers and the meaning the code carries', () => {
    const all: Record<string, string> = { ...errorCodes, ...httpProblemCodes };
    expect([...rows.keys()].sort()).toEqual(Object.keys(all).sort());
    for (const [code, meaning] of Object.entries(all)) {
      expect(rows.get(code)?.status, code).toBe(problemStatuses[code as keyof typeof problemStatuses]);
      expect(rows.get(code)?.meaning, code).toBe(meaning.replace(/\|/g, '\\|'));
    }
  });
});
