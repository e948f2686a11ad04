import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../src/rate-limiter.js';

describe('RateLimiter', () => {
  it('allows a burst, then refills at the rate on an injected clock', () => {
    let now = 0;
    const limiter = new RateLimiter({ perSecond: 10, burst: 3 }, () => now);
    expect([limiter.take('c'), limiter.take('c'), limiter.take('c')]).toEqual([0, 0, 0]);
    expect(limiter.take('c')).toBe(1);
    now += 100;
    expect(limiter.take('c')).toBe(0);
    expect(limiter.take('c')).toBe(1);
  });

  it('forgets the least recently seen client past maxClients', () => {
    const now = 0;
    const limiter = new RateLimiter({ perSecond: 1, burst: 1, maxClients: 2 }, () => now);
    limiter.take('a');
    limiter.take('b');
    limiter.take('a');
    limiter.take('c');
    expect(limiter.size).toBe(2);
    // 'b' was evicted, so it starts with a full bucket; 'a' is still limited.
    expect(limiter.take('b')).toBe(0);
    expect(limiter.take('c')).toBeGreaterThan(0);
  });
});
