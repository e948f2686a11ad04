import { describe, expect, it } from 'vitest';
import { defineJob } from '@scalable-api/core';
import { setup } from './helpers.js';

const echo = defineJob({ name: 'echo', run: (input: { n: number }) => input.n });

describe('submit(job, input, { tenant })', () => {
  it('stores the tenant as meta.tenant, over a tenant in meta, beside the rest of meta', async () => {
    const { system } = await setup({ jobs: [echo], workers: 0 });
    const { id } = await system.submit(echo, { n: 1 }, { tenant: 'acme', meta: { tenant: 'other', source: 'cron' } });
    expect((await system.get(id))?.meta).toEqual({ tenant: 'acme', source: 'cron' });
    const byName = await system.submitByName('echo', { n: 2 }, { tenant: 'acme:eu-1' });
    expect((await system.get(byName.id))?.meta).toEqual({ tenant: 'acme:eu-1' });
  });

  it('gives a job no tenant when none is given', async () => {
    const { system } = await setup({ jobs: [echo], workers: 0 });
    const { id } = await system.submit(echo, { n: 1 });
    expect((await system.get(id))?.meta?.['tenant']).toBeUndefined();
  });

  it('refuses a tenant no API key could carry, as a rejected promise counted as a refusal', async () => {
    const { system } = await setup({ jobs: [echo], workers: 0 });
    for (const tenant of ['', 'a b', 'x'.repeat(129), 'é']) {
      await expect(system.submit(echo, { n: 1 }, { tenant })).rejects.toThrow(TypeError);
    }
    expect((await system.stats()).rejected).toBe(4);
    expect((await system.stats()).submitted).toBe(0);
  });
});

describe('submitTree(tree, { tenant })', () => {
  it('gives every job of the tree the tenant', async () => {
    const { system } = await setup({ jobs: [echo], workers: 0 });
    const handle = await system.submitTree(
      {
        job: echo,
        input: { n: 0 },
        children: [
          { job: echo, input: { n: 1 } },
          { job: echo, input: { n: 2 } },
        ],
      },
      { tenant: 'acme' },
    );
    const tree = await system.tree(handle.id);
    const ids = [tree!.id, ...tree!.children.map((child) => child.id)];
    expect(ids).toHaveLength(3);
    for (const id of ids) expect((await system.get(id))?.meta?.['tenant']).toBe('acme');
    await expect(system.submitTree({ job: echo, input: { n: 0 } }, { tenant: 'no spaces' })).rejects.toThrow(TypeError);
  });
});
