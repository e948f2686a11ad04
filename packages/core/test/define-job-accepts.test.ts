import { describe, expect, it } from 'vitest';
import { defineJob } from '@scalable-api/core';

describe('defineJob accepts', () => {
  it('keeps the binary media types a job takes, lower-cased; none by default', () => {
    const upload = defineJob({ name: 'upload', accepts: ['Image/PNG', 'image/*', 'application/octet-stream'], run: () => 1 });
    expect(upload.accepts).toEqual(['image/png', 'image/*', 'application/octet-stream']);
    expect(defineJob({ name: 'plain', run: () => 1 }).accepts).toBeUndefined();
  });

  it('refuses what is not a binary media type or range', () => {
    for (const bad of ['image', '*/*x', 'application/json', 'image/png; q=1', '']) {
      expect(() => defineJob({ name: 'bad', accepts: [bad], run: () => 1 }), bad).toThrow(/accepts takes binary media types/);
    }
  });
});
