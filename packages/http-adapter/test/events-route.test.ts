import { request as httpRequest, type ClientRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { post, setup, type Setup } from './setup.js';

interface SseFrame {
  id?: number;
  event?: string;
  data?: unknown;
  comment?: string;
}

interface SseReader {
  status: Promise<number>;
  frames: SseFrame[];
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Resolves once `n` events (frames with an id) arrived. */
  events(n: number): Promise<SseFrame[]>;
  /** Resolves once a frame matching `predicate` arrived. */
  frame(predicate: (frame: SseFrame) => boolean): Promise<SseFrame>;
  close(): void;
}

/** A real-socket SSE client: parses frames as bytes arrive. */
function readSse(base: string, path: string, headers: Record<string, string> = {}): SseReader {
  const frames: SseFrame[] = [];
  const waiters: Array<() => void> = [];
  let req: ClientRequest;
  let resolveStatus!: (status: number) => void;
  const status = new Promise<number>((resolve) => (resolveStatus = resolve));
  const ended = new Promise<void>((resolve, reject) => {
    req = httpRequest(`${base}${path}`, { headers }, (res) => {
      resolveStatus(res.statusCode ?? 0);
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const frame: SseFrame = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) frame.comment = line.slice(1).trim();
            else if (line.startsWith('id: ')) frame.id = Number(line.slice(4));
            else if (line.startsWith('event: ')) frame.event = line.slice(7);
            else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6));
          }
          frames.push(frame);
          for (const wake of waiters.splice(0)) wake();
        }
      });
      res.on('end', () => resolve());
      res.on('error', () => resolve());
    });
    req.on('error', reject);
    req.end();
  });
  const events = () => frames.filter((f) => f.id !== undefined);
  return {
    status,
    frames,
    ended,
    async events(n) {
      while (events().length < n) await new Promise<void>((resolve) => waiters.push(resolve));
      return events();
    },
    async frame(predicate) {
      for (;;) {
        const found = frames.find(predicate);
        if (found) return found;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    close: () => req.destroy(),
  };
}

let t: Setup;
let base: string;
afterEach(async () => {
  await t?.close();
});

async function listen(options?: Parameters<typeof setup>[0]) {
  t = await setup(options);
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
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
    await after.ended;
    expect(after.frames.filter((f) => f.id !== undefined)).toEqual([]);
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
    const frames: string[] = [];
    const cutOff = await new Promise<boolean>((resolve) => {
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
            res.on('end', () => {
              frames.push(...[...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]!));
              resolve(!text.includes('event: job.completed'));
            });
            res.resume();
          });
      }).end();
    });
    expect(cutOff).toBe(true);
    expect(frames.length).toBeLessThan(1_003);
    const resumed = readSse(base, `/jobs/${id}/events`, { 'last-event-id': String(frames.length) });
    await resumed.ended;
    expect(resumed.frames.filter((f) => f.id !== undefined).at(-1)?.event).toBe('job.completed');
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
