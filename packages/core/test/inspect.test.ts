import type { AddressInfo } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { createJobSystem, defineJob, type JobSystem } from '@scalable-api/core';

/** What the Stately inspector receives, as JSON messages over its WebSocket. */
interface Inspected {
  type: '@xstate.actor' | '@xstate.event' | '@xstate.snapshot';
  sessionId: string;
  definition?: string;
  event?: { type: string };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A WebSocket server on loopback standing where the inspector UI's bridge would be. */
async function receiver(): Promise<{ url: string; messages: Inspected[] }> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const messages: Inspected[] = [];
  server.on('connection', (socket) => socket.on('message', (data) => messages.push(JSON.parse((data as Buffer).toString()) as Inspected)));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  );
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, messages };
}

describe('createJobSystem({ inspect })', () => {
  it('sends the supervisor, dispatcher, worker and parent-job machines to a WebSocket inspector', async () => {
    const { url, messages } = await receiver();
    const inspector = createWebSocketInspector({ url });
    cleanups.push(() => inspector.stop());
    const leaf = defineJob({ name: 'leaf', run: () => 1 });
    const root = defineJob({ name: 'root', run: async (_: undefined, ctx) => (await ctx.spawn(leaf, undefined)) + 1 });
    const system: JobSystem = createJobSystem({ jobs: [leaf, root], workers: 2, inspect: inspector.inspect });
    cleanups.push(() => system.stop({ drain: false, timeoutMs: 0 }));
    await system.start();
    expect(await (await system.submit(root, undefined)).result()).toBe(2);

    const machines = () => {
      const ids = new Map<string, string>();
      for (const m of messages) if (m.type === '@xstate.actor' && m.definition) ids.set(m.sessionId, (JSON.parse(m.definition) as { id: string }).id);
      return ids;
    };
    await expect.poll(() => [...machines().values()].sort(), { timeout: 10_000 }).toEqual(['dispatcher', 'parent', 'supervisor', 'worker', 'worker']);
    // Not only the actors' births: their messages and state changes flow too.
    const ids = machines();
    const eventsTo = (machine: string) =>
      messages.filter((m) => m.type === '@xstate.event' && ids.get(m.sessionId) === machine).map((m) => m.event?.type);
    await expect.poll(() => eventsTo('worker'), { timeout: 10_000 }).toContain('job.assigned');
    expect(eventsTo('dispatcher')).toContain('workers.idle');
    expect(eventsTo('parent')).toContain('child.settled');
    expect(messages.some((m) => m.type === '@xstate.snapshot' && ids.get(m.sessionId) === 'supervisor')).toBe(true);
  });
});
