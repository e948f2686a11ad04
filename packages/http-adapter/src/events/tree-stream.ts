import type { JobEvent } from '@scalable-api/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { fromStore, loadJob, type AdapterContext } from '../adapter-context.js';
import { HttpProblemError } from '../problem.js';
import { openSse } from './sse-writer.js';
import { parseCursor } from './tree-cursor.js';
import { TreeState } from './tree-state.js';

/**
 * `GET {prefix}/:id/events?tree=1`: every event of the job and of all its descendants, in the
 * order they happen, resumable across the tree. Each frame's `id:` is a cursor over every job's
 * seq (see `parseCursor`): a reader that reconnects with it as `Last-Event-ID` gets exactly what
 * it has not seen, from whichever node it reaches. After every event that changes it, a
 * `tree.progress` frame carries the root's aggregated progress `{ id, progress, jobs, settled }`
 * (`GET /:id/tree`'s `aggregateProgress`, with the jobs followed and how many of them settled).
 * The stream ends once every job of the tree settled; a reader that comes back with all of it
 * gets 204. At most `sseTreeNodes` jobs are followed (the first ones in tree order).
 *
 * Like the single-job stream, live events are hints: a seq gap, a job under an unknown parent, or
 * the hub's reconciliation make it re-read the tree and the missing events from the store.
 */
export async function streamTree(ctx: AdapterContext, request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply): Promise<void> {
  const { id } = request.params;
  const maxNodes = ctx.limits.sseTreeNodes;
  const record = await loadJob(ctx, request, id);
  const cursor = parseCursor(request.headers['last-event-id'], maxNodes);
  const tree = await fromStore(ctx.system.tree(id, { maxNodes }));
  if (!tree) throw new HttpProblemError('JOB_NOT_FOUND', 'The job is gone.');
  const state = new TreeState(tree, cursor, maxNodes, record.rootId === id);
  if (cursor && state.complete()) return void reply.code(204).header('cache-control', 'no-store').send();

  const sse = openSse(ctx, request, reply, 1_000);
  let lastProgress = '';
  let catchingUp: Promise<void> | undefined;
  let again = false;
  /** Live events that came during a catch-up, handled after it (a full one is read again instead). */
  let held: JobEvent[] = [];

  const finishIfComplete = () => {
    if (state.complete()) sse.end();
  };
  const write = (event: JobEvent, live: boolean) => {
    const cursorNow = state.cursor();
    sse.send(`id: ${cursorNow}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`, live);
    const aggregate = state.progress();
    const key = `${aggregate.progress}/${aggregate.jobs}/${aggregate.settled}`;
    if (key !== lastProgress) {
      lastProgress = key;
      sse.send(`id: ${cursorNow}\nevent: tree.progress\ndata: ${JSON.stringify({ id, ...aggregate })}\n\n`, live);
    }
  };
  /** Re-reads the tree and every unfinished job's events after what was delivered. */
  const catchUp = (): Promise<void> => {
    if (catchingUp) {
      again = true;
      return catchingUp;
    }
    catchingUp = (async () => {
      do {
        again = false;
        const fresh = await ctx.system.tree(id, { maxNodes });
        if (!fresh) return sse.end();
        state.merge(fresh);
        const pending = [...state.nodes.values()].filter((node) => !node.done);
        // A bounded number of reads in flight, in tree order.
        for (let i = 0; i < pending.length && sse.open; i += 32) {
          const batch = pending.slice(i, i + 32);
          const lists = await Promise.all(batch.map((node) => ctx.system.store.events(node.id, node.seq)));
          for (const events of lists) {
            for (const event of events) {
              if (!sse.open) return;
              if (state.accept(event) === 'write') write(event, false);
            }
            await sse.drained();
          }
        }
        const live = held;
        held = [];
        for (const event of live) {
          if (!sse.open) return;
          const accepted = state.accept(event);
          if (accepted === 'write') write(event, false);
          else if (accepted === 'gap') again = true;
        }
      } while (again && sse.open);
      finishIfComplete();
    })()
      .catch((error: unknown) => {
        request.log.warn({ err: error, jobId: id }, 'tree event stream could not read the store');
        sse.end();
      })
      .finally(() => {
        catchingUp = undefined;
      });
    return catchingUp;
  };

  const unwatch = ctx.hub.watchTree(record.rootId, {
    event(event) {
      if (catchingUp) {
        if (held.length < 10_000) held.push(event);
        else again = true;
        return;
      }
      const accepted = state.accept(event);
      if (accepted === 'gap') return void catchUp();
      if (accepted === 'write') {
        write(event, true);
        finishIfComplete();
      }
    },
    resync: () => void catchUp(),
  });
  sse.onClose(unwatch);
  // The tree was read above, but events may have come between that read and the watch.
  void catchUp();
}
