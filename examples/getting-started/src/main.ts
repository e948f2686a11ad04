// The getting-started guide (docs/getting-started.md) walks through this file; a test runs it.
import { createJobSystem, defineJob, NonRetryableError } from '@scalable-api/core';
import { z } from 'zod';

// A job: a name, an input schema (any Standard Schema), policies, and its logic.
const resize = defineJob({
  name: 'resize',
  input: z.object({ width: z.number().int().positive().max(4096) }),
  retry: { attempts: 3, backoff: { type: 'exponential', delayMs: 50, jitter: true } },
  timeoutMs: 5_000,
  async run(input, ctx) {
    if (input.width === 13) throw new NonRetryableError('unlucky width'); // fails at once
    ctx.progress(0.5);
    await new Promise((resolve) => setTimeout(resolve, 10));
    return { width: input.width, bytes: input.width * 100 };
  },
});

// A parent: spawns children and waits for them; it gives its worker back while it waits.
const album = defineJob({
  name: 'album',
  async run(input: { widths: number[] }, ctx) {
    const sizes = await Promise.all(input.widths.map((width) => ctx.spawn(resize, { width }, { key: `w${width}` })));
    return { total: sizes.reduce((sum, s) => sum + s.bytes, 0) };
  },
});

const system = createJobSystem({ jobs: [resize, album], workers: 4, queue: { limit: 1_000 } });
await system.start();

const one = await system.submit(resize, { width: 64 });
console.log('resize:', await one.result()); // { width: 64, bytes: 6400 }

const tree = await system.submit(album, { widths: [64, 256, 1024] });
console.log('album:', await tree.result()); // { total: 134400 }
console.log('children:', (await system.tree(tree.id))?.children.map((c) => `${c.name}:${c.status}`).join(' '));

try {
  await system.submit(resize, { width: -1 });
} catch (error) {
  console.log('rejected:', (error as { code: string }).code); // INPUT_INVALID, before any worker
}

const unlucky = await system.submit(resize, { width: 13 });
await unlucky.result().catch((error: { code: string }) => console.log('failed:', error.code)); // JOB_FAILED

await system.stop({ drain: true });
