import { describe, expect, it } from 'vitest';
import { createMemoryStore, defineJob, type JobSystem } from '@scalable-api/core';
import { SimulatedClock } from '@scalable-api/core/testing';
import { gate, setup } from './helpers.js';

describe('createJobSystem({ workers: 0 }): a producer node', () => {
  it('accepts, answers and streams, and never claims: a worker node on the same store runs the jobs', async () => {
    const clock = new SimulatedClock();
    const store = createMemoryStore({ clock });
    const second = gate();
    const echo = defineJob({ name: 'echo', run: async (input: { n: number }) => (input.n === 2 ? second.promise.then(() => 2) : input.n) });
    const { system: producer } = await setup({ jobs: [echo], workers: 0, clock, store, nodeId: 'api' });
    const first = await producer.submit(echo, { n: 1 });
    await clock.advance(5_000);
    expect((await producer.get(first.id))?.status).toBe('queued');
    expect((await producer.stats()).workers).toBe(0);

    const { system: worker } = await setup({ jobs: [echo], workers: 1, clock, store, nodeId: 'worker' });
    expect(await first.result()).toBe(1);
    const stream = producer.events({ jobId: (await producer.submit(echo, { n: 2 })).id });
    await clock.tick();
    second.open();
    const types: string[] = [];
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'job.completed') break;
    }
    expect(types).toContain('job.completed');
    expect((await worker.stats()).completed).toBeGreaterThanOrEqual(2);
  });

  it('stops at once with drain: the queue is for other nodes to run', async () => {
    const clock = new SimulatedClock();
    const echo = defineJob({ name: 'echo', run: () => 1 });
    const { system } = await setup({ jobs: [echo], workers: 0, clock });
    await system.submit(echo, undefined);
    await system.stop({ drain: true, timeoutMs: 60_000 });
    expect(system.health()).toBe('stopped');
  });
});

describe('stop() with a claim in flight', () => {
  it('waits for the claim and hands its jobs back to the queue instead of leaving them leased to a gone node', async () => {
    const clock = new SimulatedClock();
    const inner = createMemoryStore({ clock });
    const store = Object.create(inner) as typeof inner;
    Object.defineProperty(store, 'claimNow', { value: undefined });
    const reply = gate();
    let claimed = 0;
    store.claim = async (request) => {
      const result = await inner.claim(request);
      claimed += result.jobs.length;
      if (result.jobs.length > 0) await reply.promise;
      return result;
    };
    let ran = 0;
    const echo = defineJob({ name: 'echo', run: () => ++ran });
    const { system } = await setup({ jobs: [echo], workers: 1, clock, store, leaseMs: 60_000 });
    const handle = await (system as JobSystem).submitByName('echo', undefined);
    await clock.tick();
    expect(claimed).toBe(1);
    const stopping = system.stop({ drain: false, timeoutMs: 10_000 });
    await clock.tick();
    reply.open();
    await stopping;
    expect(ran).toBe(0);
    const record = await inner.get(handle.id);
    expect(record?.status).toBe('queued');
    // Handed back as 'released': neither the attempt nor a stall counts against the job.
    expect(record?.attempt).toBe(0);
  });
});
