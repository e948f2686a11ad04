import type { ServerResponse } from 'node:http';
import type { JobEvent } from '@scalable-api/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { loadJob, type AdapterContext } from './adapter-context.js';
import { HttpProblemError } from './problem.js';

type EventsRequest = FastifyRequest<{ Params: { id: string } }>;

const terminal = new Set(['completed', 'failed', 'cancelled']);

/**
 * `GET {prefix}/:id/events`: Server-Sent Events of one job, `id:` being the event's per-job
 * `seq`. A reader that reconnects with `Last-Event-ID` first gets the stored events after that
 * seq (`store.events`), then live ones; nothing is lost or repeated in between because the live
 * listener is attached before the replay is read and events are de-duplicated by seq. The
 * stream ends once the job settles.
 *
 * A reader too slow to drain its socket is cut off once `sseBufferBytes` are queued for it:
 * it resumes from its last seq, so the server never buffers without bound for one client.
 */
export function eventsHandler(ctx: AdapterContext) {
  return async function streamEvents(request: EventsRequest, reply: FastifyReply) {
    const { id } = request.params;
    const afterSeq = lastEventIdOf(request);
    await loadJob(ctx, request, id);
    if (ctx.sse.size >= ctx.limits.sseMaxConnections) {
      throw new HttpProblemError('NOT_READY', 'Too many open event streams on this node.');
    }

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-store, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    ctx.sse.add(res);

    let lastSeq = afterSeq;
    let settled = false;
    let backlog: JobEvent[] | undefined = [];
    let overflowed = false;

    const close = () => {
      if (!res.writableEnded) res.end();
    };
    /** Writes one event; false when more is queued for this reader than its bound. */
    const write = (event: JobEvent): boolean => {
      if (settled || event.seq <= lastSeq || res.writableEnded) return true;
      lastSeq = event.seq;
      res.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      if (terminal.has(event.status)) {
        settled = true;
        close();
      }
      return res.writableLength <= ctx.limits.sseBufferBytes;
    };
    // The replay is pulled from the store, so it can wait for the socket to drain; live events
    // are pushed and cannot wait, so a reader over its bound is cut off instead.
    const replay = async (events: readonly JobEvent[]) => {
      for (const event of events) {
        if (res.writableEnded) return;
        if (!write(event)) await drained(res);
      }
    };
    const unlisten = ctx.hub.listen(id, (event) => {
      if (!backlog) {
        if (!write(event)) close();
      } else if (backlog.length < 1_000) backlog.push(event);
      else overflowed = true;
    });
    const heartbeat = setInterval(() => {
      if (!res.writableEnded) res.write(': heartbeat\n\n');
    }, ctx.limits.sseHeartbeatMs);
    heartbeat.unref();
    res.once('close', () => {
      clearInterval(heartbeat);
      unlisten();
      ctx.sse.delete(res);
    });

    try {
      res.write(`retry: 1000\n\n`);
      await replay(await ctx.system.store.events(id, lastSeq));
      // Live events that came during the replay; more may come while we wait to drain, so the
      // length is read each turn and the switch to live delivery happens in the same synchronous
      // run as the last check: nothing can slip in between.
      const pending = backlog;
      for (let i = 0; i < pending.length && !res.writableEnded; i++) {
        if (!write(pending[i]!)) await drained(res);
      }
      backlog = undefined;
      // Live events were dropped while replaying: end the stream; the reader resumes from lastSeq.
      if (overflowed) close();
      if (!settled && !res.writableEnded) {
        const record = await ctx.system.get(id);
        if (!record || terminal.has(record.status)) {
          // Settled before we listened, or its final event is still in flight from another node.
          await replay(await ctx.system.store.events(id, lastSeq));
          close();
        }
      }
    } catch (error) {
      request.log.warn({ err: error, jobId: id }, 'event stream failed');
      close();
    }
  };
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

function lastEventIdOf(request: FastifyRequest): number {
  const header = request.headers['last-event-id'];
  if (header === undefined || header === '') return 0;
  if (typeof header !== 'string' || !/^\d{1,15}$/.test(header.trim())) {
    throw new HttpProblemError('MALFORMED_REQUEST', 'Last-Event-ID must be the seq of an event (a non-negative integer).');
  }
  return Number(header.trim());
}
