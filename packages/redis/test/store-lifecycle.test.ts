import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { createRedisStore } from '../src/index.js';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from './redis-fixture.js';

const fixture = fileURLToPath(new URL('./fixtures/close-and-exit.ts', import.meta.url));

/** Runs the fixture; resolves with its exit code and output, or 'hung' if it is still running after `ms`. */
function runToExit(env: Record<string, string>, ms: number): Promise<{ code: number | null | 'hung'; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', fixture], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ code: 'hung', out });
    }, ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

await describeWithRedis('createRedisStore lifecycle and errors', () => {
  let prefix = '';
  afterEach(async () => {
    await deletePrefix(prefix);
  });

  it('lets the process exit after close(), which may be called any number of times', async () => {
    prefix = testPrefix();
    // Generous: the bound is only there so a hang fails instead of stalling the suite.
    const result = await runToExit({ REDIS_URL: redisUrl, REDIS_PREFIX: prefix }, 20_000);
    expect(result).toEqual({ code: 0, out: 'CLOSED\n' });
  }, 30_000);

  it('lets the process exit after close() when Redis was never reachable', async () => {
    prefix = testPrefix();
    const result = await runToExit({ REDIS_URL: 'redis://127.0.0.1:1', REDIS_PREFIX: prefix }, 20_000);
    expect(result).toEqual({ code: 0, out: 'FAILED The job store is unavailable.\nCLOSED\n' });
  }, 30_000);

  it('tells callers a plain message and keeps what Redis said as the cause', async () => {
    // Nothing listens on port 1: every call fails, after ioredis' retries per request.
    const unreachable = createRedisStore({ url: 'redis://127.0.0.1:1', prefix: testPrefix() });
    try {
      const error = (await unreachable.get('a').catch((e: unknown) => e)) as Error;
      expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', message: 'The job store is unavailable.' });
      expect(String((error.cause as Error).message)).toMatch(/ECONNREFUSED|max retries/i);
    } finally {
      await unreachable.close();
    }
    // An error raised inside a function names the function; the caller never sees it.
    prefix = testPrefix();
    const store = createRedisStore({ url: redisUrl, prefix });
    const client = new Redis(redisUrl);
    try {
      await store.enqueue([{ id: 'a', name: 'n', input: {}, priority: 0 }], { limit: 10 });
      await client.set(`{${prefix}}:leases`, 'not a sorted set');
      const error = (await store.claim({ owner: 'me', max: 1, leaseMs: 1_000 }).catch((e: unknown) => e)) as Error;
      expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE', message: 'The job store is unavailable.' });
      expect(String((error.cause as Error).message)).toMatch(/WRONGTYPE/);
    } finally {
      client.disconnect();
      await store.close();
    }
  });
});
