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
    const deliver = (event: JobEvent) => {
      if (settled || event.seq <= lastSeq || res.writableEnded) return;
      lastSeq = event.seq;
      res.write(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      if (terminal.has(event.status)) {
        settled = true;
        close();
      } else if (res.writableLength > ctx.limits.sseBufferBytes) {
        close();
      }
    };
    const unlisten = ctx.hub.listen(id, (event) => {
      if (!backlog) deliver(event);
      else if (backlog.length < 1_000) backlog.push(event);
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
      for (const event of await ctx.system.store.events(id, lastSeq)) deliver(event);
      const pending = backlog;
      backlog = undefined;
      for (const event of pending) deliver(event);
      // Live events were dropped while replaying: end the stream; the reader resumes from lastSeq.
      if (overflowed) close();
      if (!settled && !res.writableEnded) {
        const record = await ctx.system.get(id);
        if (!record || terminal.has(record.status)) {
          // Settled before we listened, or its final event is still in flight from another node.
          for (const event of await ctx.system.store.events(id, lastSeq)) deliver(event);
          close();
        }
      }
    } catch (error) {
      request.log.warn({ err: error, jobId: id }, 'event stream failed');
      close();
    }
  };
}

function lastEventIdOf(request: FastifyRequest): number {
  const header = request.headers['last-event-id'];
  if (header === undefined || header === '') return 0;
  if (typeof header !== 'string' || !/^\d{1,15}$/.test(header.trim())) {
    throw new HttpProblemError('MALFORMED_REQUEST', 'Last-Event-ID must be the seq of an event (a non-negative integer).');
  }
  return Number(header.trim());
}
