import { Redis } from 'ioredis';
import { afterEach, expect, it } from 'vitest';
import { SimulatedClock } from '@scalable-api/core/testing';
import { startTcpProxy, type TcpProxy } from '@scalable-api/test-support/tcp-proxy';
import { createRedisStore, type RedisStore } from '../src/index.js';
import { deletePrefix, describeWithRedis, redisUrl, testPrefix } from './redis-fixture.js';

const LEASE = 1_000;

/**
 * A node behind a relay that stops forwarding without closing anything (a silent partition):
 * its claims time out on the client but stay on the socket, and reach Redis when the path heals,
 * each with the `now` it was sent with. Before the fix, those late claims ran back to back: the
 * first leased a queued job to a node that no longer waited for the answer, each next one found
 * that lease run out (a lapse) and leased the job again, and after three the job was quarantined
 * without ever having run (chaos `blackhole`, docs/reliability.md).
 */
await describeWithRedis('a silent partition between a node and Redis', () => {
  const opened: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of opened.splice(0).reverse()) await close();
  });

  async function setup() {
    const prefix = testPrefix();
    const clock = new SimulatedClock();
    const proxy: TcpProxy = await startTcpProxy(Number(new URL(redisUrl).port || 6379));
    // The cut-off node: a command timeout is the only way it can notice.
    const client = new Redis(`redis://127.0.0.1:${proxy.port}`, { commandTimeout: 100, maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    const cutOff: RedisStore = createRedisStore({ client, prefix, clock, maxStalls: 3 });
    // Another node, still connected: its calls (claims, sweeps) move the store's clock mark.
    const other: RedisStore = createRedisStore({ url: redisUrl, prefix, clock, maxStalls: 3 });
    opened.push(async () => {
      await proxy.heal();
      await cutOff.close();
      client.disconnect();
      await other.close();
      await proxy.close();
      await deletePrefix(prefix);
    });
    // The library loaded through the relay while it still forwards.
    await cutOff.get('none');
    const claim = (store: RedisStore, owner: string, names?: string[]) => store.claim({ owner, max: 10, leaseMs: LEASE, names });
    // A round trip through the healed relay: everything sent before it has reached Redis.
    const flushed = () => client.ping();
    return { clock, proxy, cutOff, other, claim, flushed };
  }

  it('does not quarantine a job that the late claims of the cut-off node would have leased over and over', async () => {
    const { clock, proxy, cutOff, other, claim, flushed } = await setup();
    await other.enqueue([{ id: 'healthy', name: 'work', input: {}, priority: 0 }], { limit: 10 });
    proxy.blackhole();
    // The cut-off node's dispatcher retries its claim; each times out and stays on the socket.
    for (let k = 0; k < 4; k++) {
      await expect(claim(cutOff, 'node-a')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      await clock.advance(LEASE + 1);
      // The other node works on meanwhile (another queue), so the store sees time go by.
      await claim(other, 'node-b', ['elsewhere']);
    }
    await proxy.heal();
    await flushed();
    expect(await other.get('healthy')).toMatchObject({ status: 'queued', attempt: 0 });
    // The healed node claims it as the first attempt it is.
    const { jobs } = await claim(cutOff, 'node-a');
    expect(jobs.map((j) => [j.id, j.attempt])).toEqual([['healthy', 1]]);
    expect(await cutOff.settle([{ ...jobs[0]!, outcome: 'completed', output: 1 }])).toEqual(['ok']);
    expect(await other.get('healthy')).toMatchObject({ status: 'completed', attempt: 1 });
  });

  it('hands back at once what a claim leased after its node gave up on it, instead of a lease later', async () => {
    const { clock, proxy, cutOff, other, claim, flushed } = await setup();
    await other.enqueue([{ id: 'job', name: 'work', input: {}, priority: 0 }], { limit: 10 });
    proxy.blackhole();
    await expect(claim(cutOff, 'node-a')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    // Healed within the lease: the late claim is not refused, and leases the job to node-a,
    // which will never hear of it.
    await clock.advance(LEASE / 2);
    await claim(other, 'node-b', ['elsewhere']);
    await proxy.heal();
    await flushed();
    expect(await other.get('job')).toMatchObject({ status: 'running', attempt: 1 });
    // node-b cannot have it for another half lease; node-a's next claim hands it back and takes it
    // as a first attempt, with a lease of its own.
    expect((await claim(other, 'node-b')).jobs).toEqual([]);
    const { jobs } = await claim(cutOff, 'node-a');
    expect(jobs.map((j) => [j.id, j.attempt])).toEqual([['job', 1]]);
    expect(await cutOff.renew(jobs, LEASE)).toEqual([{ held: true }]);
    // Handed back (released), not taken back after a lapse (which would count against it).
    expect((await other.events('job', 0)).map((e) => e.type)).toEqual(['job.queued', 'job.started', 'job.released', 'job.started']);
    expect(await cutOff.settle([{ ...jobs[0]!, outcome: 'completed', output: 1 }])).toEqual(['ok']);
    expect(await other.get('job')).toMatchObject({ status: 'completed', attempt: 1 });
  });
});
