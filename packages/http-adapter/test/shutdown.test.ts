import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from '../../redis/test/redis-fixture.js';

const fixture = fileURLToPath(new URL('./fixtures/sigterm-app.ts', import.meta.url));
const guide = fileURLToPath(new URL('../../../docs/mounting.md', import.meta.url));

/** The code block of docs/mounting.md's shutdown section. */
function documentedSequence(): string {
  const section = readFileSync(guide, 'utf8').split('## 4. Shut down gracefully')[1] ?? '';
  return /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
}

await describeWithRedis('shutting down a Redis-backed app (docs/mounting.md)', () => {
  it('the documented SIGTERM sequence lets accepted jobs finish, then the process exits by itself', async () => {
    const sequence = documentedSequence();
    expect(sequence).toContain('app.jobs.shutdown(');
    // The process below runs exactly what the guide shows.
    expect(readFileSync(fixture, 'utf8')).toContain(sequence);

    const prefix = testPrefix();
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', fixture], {
      env: { ...process.env, REDIS_URL: redisUrl, PREFIX: prefix, DASHBOARD: 'on' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      let base: string | undefined;
      while (!base) {
        base = /listening on (http:\/\/[\d.:]+)/.exec(output)?.[1];
        if (child.exitCode !== null) throw new Error(`the app exited early: ${output}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const accepted = fetch(`${base}/jobs/sleep`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', prefer: 'wait=20' },
        body: JSON.stringify({ ms: 500 }),
      });
      // An open dashboard tab and an open event stream must not hold the process either.
      const live = await fetch(`${base}/jobs/dashboard/api/live`);
      void live.body?.getReader().read();
      await expect.poll(async () => (await (await fetch(`${base}/metrics`)).text()).match(/^scalable_api_jobs_running 1$/m) !== null).toBe(true);
      child.kill('SIGTERM');
      expect(await (await accepted).json()).toMatchObject({ status: 'completed', output: { sleptMs: 500 } });
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await deletePrefix(prefix);
    }
  });
});
