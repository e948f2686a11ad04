import { request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listen as listenOn } from './listen.js';
import { post, setup, type Setup } from './setup.js';
import { readSse } from './sse-client.js';

let t: Setup;
let base: string;
afterEach(async () => {
  await t?.close();
});

async function listen(options?: Parameters<typeof setup>[0]) {
  t = await setup(options);
  base = await listenOn(t.app);
}

describe('GET {prefix}/:id/events', () => {
  it('streams status and progress with id = seq, and ends when the job settles', async () => {
    await listen();
    const { id } = (await post(t.app, '/jobs/steps', { n: 3, ms: 20 })).json();
    const sse = readSse(base, `/jobs/${id}/events`);
    expect(await sse.status).toBe(200);
    await sse.ended;
    const events = sse.frames.filter((f) => f.id !== undefined);
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => i + 1));
    expect(events.map((e) => e.event)).toEqual(['job.queued', 'job.started', 'job.progress', 'job.progress', 'job.progress', 'job.completed']);
    expect(events.at(-1)!.data).toMatchObject({ id, status: 'completed', output: { steps: 3 } });
    expect(events.filter((e) => e.event === 'job.progress').map((e) => (e.data as { progress: number }).progress)).toEqual([1 / 3, 2 / 3, 1]);
  });

  it('names a parent that runs on after its children job.resumed, never a second job.started', async () => {
    await listen();
    const { id } = (await post(t.app, '/jobs/parent', { width: 2, ms: 10 })).json();
    const sse = readSse(base, `/jobs/${id}/events`);
    await sse.ended;
    const events = sse.frames.filter((f) => f.id !== undefined);
    expect(events.map((e) => e.event)).toEqual(['job.queued', 'job.started', 'job.waiting', 'job.resumed', 'job.completed']);
    expect(events[3]!.data).toMatchObject({ type: 'job.resumed', status: 'running', attempt: 1, id });
  });

  it('resumes after Last-Event-ID: replays the stored events after it, then live ones, without gaps or repeats', async () => {
    await listen();
    const { id } = (await post(t.app, '/jobs/steps', { n: 6, ms: 40 })).json();
    const first = readSse(base, `/jobs/${id}/events`);
    const seen = await first.events(3);
    first.close();
    const lastSeq = seen.at(-1)!.id!;
    const resumed = readSse(base, `/jobs/${id}/events`, { 'last-event-id': String(lastSeq) });
    await resumed.ended;
    const rest = resumed.frames.filter((f) => f.id !== undefined);
    expect(rest[0]!.id).toBe(lastSeq + 1);
    const all = [...seen.map((e) => e.id), ...rest.map((e) => e.id)];
    expect(all).toEqual(all.map((_, i) => i + 1));
    expect(rest.at(-1)!.event).toBe('job.completed');
  });

  it('replays a settled job from the store and closes', async () => {
    await listen();
    const { id } = (await post(t.app, '/jobs/echo', { a: 1 })).json();
    await t.system.handle(id).result();
    const sse = readSse(base, `/jobs/${id}/events`);
    await sse.ended;
    expect(sse.frames.filter((f) => f.id !== undefined).map((f) => f.event)).toEqual(['job.queued', 'job.started', 'job.completed']);
    const after = readSse(base, `/jobs/${id}/events`, { 'last-event-id': '3' });
    expect(await after.status).toBe(204);
    await after.ended;
    expect(after.frames).toEqual([]);
  });

  it('sends heartbeat comments while the job is quiet', async () => {
    await listen({ plugin: { limits: { sse: { heartbeatMs: 20 } } } });
    const { id } = (await post(t.app, '/jobs/sleep', { ms: 60_000 })).json();
    const sse = readSse(base, `/jobs/${id}/events`);
    await sse.frame((f) => f.comment === 'heartbeat');
    sse.close();
  });

  it('ends open streams when the server closes', async () => {
    await listen();
    const { id } = (await post(t.app, '/jobs/sleep', { ms: 60_000 })).json();
    const sse = readSse(base, `/jobs/${id}/events`);
    await sse.events(1);
    await t.app.close();
    await sse.ended;
  });

  it('cuts off a reader that stops reading once its buffer bound is reached; it resumes with Last-Event-ID', async () => {
    await listen({ plugin: { limits: { sse: { bufferBytes: 64 * 1024 } } } });
    const { id } = (await post(t.app, '/jobs/chatty', { n: 1_000, size: 32 * 1024 })).json();
    const seen = await new Promise<number[]>((resolve) => {
      httpRequest(`${base}/jobs/${id}/events`, (res) => {
        res.pause();
        // Read nothing until the job is done: the server must not buffer its 32 MB for us.
        void t.system
          .handle(id)
          .result()
          .then(() => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('close', () => {
              // Only whole frames count: the cut may fall inside one.
              const whole = text.slice(0, text.lastIndexOf('\n\n') + 2);
              resolve([...whole.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])));
            });
            res.resume();
          });
      }).end();
    });
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(1_002);
    const resumed = readSse(base, `/jobs/${id}/events`, { 'last-event-id': String(seen.at(-1)) });
    await resumed.ended;
    const rest = resumed.frames.filter((f) => f.id !== undefined);
    // After what it saw (the store keeps a bounded log per job, so the oldest may be gone).
    expect(rest[0]!.id).toBeGreaterThan(seen.at(-1)!);
    expect(rest.at(-1)?.event).toBe('job.completed');
  });

  it('frees the socket, its queued bytes and its slot of every paused reader (20 at once), not only ends their responses', async () => {
    await listen({ plugin: { limits: { sse: { bufferBytes: 64 * 1024 } } } });
    const serverSockets: Socket[] = [];
    t.app.server.on('connection', (socket: Socket) => serverSockets.push(socket));
    const ids: string[] = [];
    // ~5 MB of events each: more than loopback's socket buffers take in for a reader that does not read.
    for (let i = 0; i < 20; i++) ids.push((await post(t.app, '/jobs/chatty', { n: 160, size: 32 * 1024 })).json().id);
    const clientSockets: Socket[] = [];
    await Promise.all(
      ids.map(
        (id) =>
          new Promise<void>((resolve) => {
            const req = httpRequest(`${base}/jobs/${id}/events`, (res) => {
              // A reader that holds its socket open and never reads.
              res.pause();
              resolve();
            });
            req.on('socket', (socket) => clientSockets.push(socket));
            req.on('error', () => {});
            req.end();
          }),
      ),
    );
    await Promise.all(ids.map((id) => t.system.handle(id).result()));
    const openStreams = async () => Number(/^scalable_api_sse_connections (\d+)$/m.exec((await t.app.inject('/metrics')).body)?.[1]);
    await expect.poll(openStreams, { timeout: 10_000 }).toBe(0);
    // Nothing is left queued in this process for them: their sockets are gone.
    const queued = () => serverSockets.reduce((sum, socket) => sum + (socket.destroyed ? 0 : socket.writableLength), 0);
    await expect.poll(queued, { timeout: 10_000 }).toBe(0);
    expect(serverSockets.filter((socket) => !socket.destroyed)).toHaveLength(0);
    for (const socket of clientSockets) socket.destroy();
  });

  it('bounds open streams per tenant as well as per node: one tenant cannot take every slot', async () => {
    const keys = [
      { key: 'tenant-a-key-0123456789', tenant: 'a' },
      { key: 'tenant-b-key-0123456789', tenant: 'b' },
    ];
    await listen({ plugin: { auth: { keys }, limits: { sse: { maxPerTenant: 2, maxConnections: 10 } } } });
    const a = { 'x-api-key': keys[0]!.key };
    const b = { 'x-api-key': keys[1]!.key };
    const ofA = (await post(t.app, '/jobs/sleep', { ms: 60_000 }, a)).json().id;
    const ofB = (await post(t.app, '/jobs/sleep', { ms: 60_000 }, b)).json().id;
    const streams = [readSse(base, `/jobs/${ofA}/events`, a), readSse(base, `/jobs/${ofA}/events`, a)];
    for (const stream of streams) expect(await stream.status).toBe(200);
    const third = await fetch(`${base}/jobs/${ofA}/events`, { headers: a });
    expect(third.status).toBe(429);
    expect(third.headers.get('retry-after')).toBeTruthy();
    expect(((await third.json()) as { code: string }).code).toBe('RATE_LIMITED');
    const other = readSse(base, `/jobs/${ofB}/events`, b);
    expect(await other.status).toBe(200);
    // A closed stream gives its slot back.
    streams[0]!.close();
    await streams[0]!.ended;
    await expect
      .poll(async () => (await fetch(`${base}/jobs/${ofA}/events`, { headers: a, signal: AbortSignal.timeout(500) }).catch(() => undefined))?.status)
      .toBe(200);
    for (const stream of [...streams, other]) stream.close();
  });

  it('answers 204 to a reader of a settled job that has every event, so an EventSource stops reconnecting', async () => {
    await listen();
    const { id } = (await post(t.app, '/jobs/echo', { a: 1 })).json();
    await t.system.handle(id).result();
    const first = readSse(base, `/jobs/${id}/events`);
    await first.ended;
    const last = first.frames.filter((f) => f.id !== undefined).at(-1)!.id!;
    // What an EventSource does after the stream ends: reconnect with the last id it saw.
    const again = await fetch(`${base}/jobs/${id}/events`, { headers: { 'last-event-id': String(last) } });
    expect(again.status).toBe(204);
    expect(await again.text()).toBe('');
    // One event short: that event, then the end.
    const short = readSse(base, `/jobs/${id}/events`, { 'last-event-id': String(last - 1) });
    expect(await short.status).toBe(200);
    await short.ended;
    expect(short.frames.filter((f) => f.id !== undefined).map((f) => f.id)).toEqual([last]);
  });

  it('answers 400 for a malformed Last-Event-ID and 404 for an unknown job, as problems', async () => {
    await listen();
    const { id } = (await post(t.app, '/jobs/echo', {})).json();
    const bad = await t.app.inject({ method: 'GET', url: `/jobs/${id}/events`, headers: { 'last-event-id': 'abc' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('MALFORMED_REQUEST');
    const missing = await t.app.inject({ method: 'GET', url: '/jobs/V1StGXR8_Z5jdHi6B-myT/events' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('JOB_NOT_FOUND');
  });
});
