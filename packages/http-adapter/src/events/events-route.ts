import { isTerminal, type JobEvent, type JobRecord } from '@scalable-api/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fromStore, loadJob, type AdapterContext } from '../adapter-context.js';
import { HttpProblemError } from '../problem.js';
import { openSse } from './sse-writer.js';
import { streamTree } from './tree-stream.js';

export type EventsRequest = FastifyRequest<{ Params: { id: string }; Querystring: { tree?: string } }>;

/**
 * `GET {prefix}/:id/events`: Server-Sent Events of one job, `id:` being the event's per-job
 * `seq` (with `?tree=1`, every job of its tree: see `streamTree`). A reader that reconnects with
 * `Last-Event-ID` first gets the stored events after that seq (`store.events`), then live ones;
 * nothing is lost or repeated in between because the watcher is attached before the replay is
 * read and events are de-duplicated by seq. The stream ends once the job settles, and a reader
 * that comes back after that with every event gets 204, the SSE way to say "do not reconnect".
 *
 * Live events are hints: a seq gap (a lost message) or a settled record found by the hub's
 * reconciliation makes the stream catch up from the store, so it never hangs after its job
 * settled.
 */
export function eventsHandler(ctx: AdapterContext) {
  return async function streamEvents(request: EventsRequest, reply: FastifyReply) {
    const tree = request.query.tree;
    if (tree === '1' || tree === 'true') return streamTree(ctx, request, reply);
    if (tree !== undefined && tree !== '0' && tree !== 'false') throw new HttpProblemError('MALFORMED_REQUEST', 'tree must be 1 or 0.');
    const { id } = request.params;
    const afterSeq = lastEventIdOf(request);
    const record = await loadJob(ctx, request, id);
    if (afterSeq > 0 && isTerminal(record.status) && (await fromStore(ctx.system.store.events(id, afterSeq))).length === 0) {
      return reply.code(204).header('cache-control', 'no-store').send();
    }
    streamJob(ctx, request, reply, id, afterSeq);
  };
}

function streamJob(ctx: AdapterContext, request: FastifyRequest, reply: FastifyReply, id: string, afterSeq: number): void {
  const sse = openSse(ctx, request, reply, 1_000);
  let lastSeq = afterSeq;
  let settled = false;
  /** Set while a catch-up from the store runs: live events wait for it (the store has them too). */
  let catchingUp: Promise<void> | undefined;
  let again = false;

  const write = (event: JobEvent, live: boolean) => {
    if (settled || event.seq <= lastSeq) return;
    lastSeq = event.seq;
    sse.send(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`, live);
    if (isTerminal(event.status)) {
      settled = true;
      sse.end();
    }
  };
  /** Replays what the store has after lastSeq; overlapping calls run once more, not in parallel. */
  const catchUp = (): Promise<void> => {
    if (catchingUp) {
      again = true;
      return catchingUp;
    }
    catchingUp = (async () => {
      do {
        again = false;
        for (const event of await ctx.system.store.events(id, lastSeq)) {
          if (!sse.open || settled) return;
          write(event, false);
          await sse.drained();
        }
      } while (again && sse.open && !settled);
    })()
      .catch((error: unknown) => {
        request.log.warn({ err: error, jobId: id }, 'event stream could not read the store');
        sse.end();
      })
      .finally(() => {
        catchingUp = undefined;
      });
    return catchingUp;
  };
  const unwatch = ctx.hub.watch(id, {
    event(event) {
      if (catchingUp || event.seq > lastSeq + 1) void catchUp();
      else write(event, true);
    },
    record(record: JobRecord | undefined) {
      if (record === undefined) sse.end();
      else if (isTerminal(record.status) && !settled) void catchUp();
    },
  });
  sse.onClose(unwatch);

  void (async () => {
    await catchUp();
    // Settled before we watched, or its final event is still in flight from another node.
    if (!settled && sse.open) {
      const record = await fromStore(ctx.system.get(id)).catch(() => undefined);
      if (!record) sse.end();
      else if (isTerminal(record.status)) await catchUp();
    }
  })();
}

export function lastEventIdOf(request: FastifyRequest): number {
  const header = request.headers['last-event-id'];
  if (header === undefined || header === '') return 0;
  if (typeof header !== 'string' || !/^\d{1,15}$/.test(header.trim())) {
    throw new HttpProblemError('MALFORMED_REQUEST', 'Last-Event-ID must be the seq of an event (a non-negative integer).');
  }
  return Number(header.trim());
}
