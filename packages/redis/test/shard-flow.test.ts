import { describe, expect, it } from 'vitest';
import type { FlowControl } from '@scalable-api/core';
import { perShard } from '../src/shard-flow.js';

describe('perShard', () => {
  it('gives each shard its share of a rate limit and of a per-key concurrency limit', () => {
    const flow = new Map<string, FlowControl>([
      ['api', { rate: { max: 50, perMs: 1_000, perKey: false } }],
      ['render', { concurrencyPerKey: 3, weights: { a: 2 } }],
    ]);
    const share = perShard(flow, 2);
    expect(share.get('api')).toEqual({ rate: { max: 25, perMs: 1_000, perKey: false } });
    expect(share.get('render')).toEqual({ concurrencyPerKey: 2, weights: { a: 2 } });
    // Made once per map: nodes pass the same map on every claim.
    expect(perShard(flow, 2)).toBe(share);
    expect(perShard(flow, 1)).toBe(flow);
  });
});
