import { describe, expect, it } from 'vitest';
import { defineJob, NonRetryableError, type Logger } from '@scalable-api/core';
import { setup } from './helpers.js';

interface Line {
  level: string;
  msg: string | undefined;
  fields: Record<string, unknown>;
}

/** A pino-shaped collector: children merge their bindings into every line they write. */
function collector(enabled: readonly string[]): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const write = (level: string) => (obj: object, msg?: string) => void lines.push({ level, msg, fields: { ...bindings, ...obj } });
    return {
      debug: write('debug'),
      info: write('info'),
      warn: write('warn'),
      error: write('error'),
      child: (more) => make({ ...bindings, ...more }),
      isLevelEnabled: (level) => enabled.includes(level),
    };
  };
  return { logger: make({}), lines };
}

describe('job lifecycle logs', () => {
  it('writes start and completion at debug, bound to the job, parent and root ids, and ctx.log shares the bindings', async () => {
    const { logger, lines } = collector(['debug', 'info', 'warn', 'error']);
    const leaf = defineJob({
      name: 'leaf',
      run: (_: undefined, ctx) => {
        ctx.log.info({ step: 1 }, 'working');
        return 1;
      },
    });
    const root = defineJob({ name: 'root', run: async (_: undefined, ctx) => ctx.spawn(leaf, undefined) });
    const { system } = await setup({ jobs: [leaf, root], workers: 1, logger });
    const handle = await system.submit(root, undefined);
    await handle.result();
    const leafLines = lines.filter((l) => l.fields['job'] === 'leaf');
    expect(leafLines.map((l) => [l.level, l.msg])).toEqual([
      ['debug', 'job attempt started'],
      ['info', 'working'],
      ['debug', 'job completed'],
    ]);
    for (const line of leafLines)
      expect(line.fields).toMatchObject({ jobId: expect.any(String), attempt: 1, parentId: handle.id, rootId: handle.id });
    expect(leafLines[1]!.fields['step']).toBe(1);
    expect(lines.filter((l) => l.fields['jobId'] === handle.id).map((l) => l.msg)).toEqual(['job attempt started', 'job completed']);
  });

  it('writes retries and failures at info with the error code, and no debug lines when debug is off', async () => {
    const { logger, lines } = collector(['info', 'warn', 'error']);
    let calls = 0;
    const flaky = defineJob({
      name: 'flaky',
      retry: { attempts: 2, backoff: { type: 'fixed', delayMs: 0 } },
      run: () => {
        calls++;
        throw calls === 1 ? new Error('first') : new NonRetryableError('second');
      },
    });
    const { system } = await setup({ jobs: [flaky], workers: 1, logger });
    await expect((await system.submit(flaky, undefined)).result()).rejects.toThrow();
    expect(lines.map((l) => [l.level, l.msg, l.fields['attempt'], (l.fields['error'] as { code: string }).code])).toEqual([
      ['info', 'job attempt failed; it will be retried', 1, 'JOB_FAILED'],
      ['info', 'job failed', 2, expect.any(String)],
    ]);
  });
});
