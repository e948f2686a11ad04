import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { ClientError } from './client-errors.js';
import { sleep, type HttpTransport } from './http-transport.js';
import type { StreamEvent, TreeProgressEvent } from './job-types.js';
import type { JobEvent } from '@scalable-api/core';

export interface EventsOptions {
  /** Every event of the job's whole tree (`?tree=1`), with `tree.progress` frames. */
  tree?: boolean;
  /** Resume after this event: the `lastEventId` of an earlier stream of the same job (and kind). */
  lastEventId?: string;
  /** Aborting it ends the stream: the iterator throws the signal's reason. */
  signal?: AbortSignal;
  /** Reconnections in a row that bring no event before the stream gives up with STREAM_LOST. Default 10. */
  maxReconnects?: number;
}

/** An event stream: iterate it with `for await`; `lastEventId` is where a later stream may resume. */
export interface EventStream extends AsyncIterableIterator<StreamEvent> {
  readonly lastEventId: string | undefined;
}

const terminal = new Set(['completed', 'failed', 'cancelled']);
/** One frame's bytes before the parser gives up on a stream (the server's events are far smaller). */
const maxFrameBytes = 8 * 1_048_576;
/** The longest wait between reconnections, whatever the server's `retry:` says. */
const maxRetryMs = 30_000;

/**
 * `GET {prefix}/:id/events` as an async iterator. A dropped connection is resumed by itself with
 * `Last-Event-ID` (after the server's `retry:` delay, backing off while reconnections bring
 * nothing), so the reader sees every event once and in order. It ends when the job settled (a
 * tree stream: when the server ends it with the whole tree delivered) or when the server answers
 * 204, its way of saying the reader has everything.
 *
 * Frames are parsed by `eventsource-parser` (the SSE framing of the WHATWG spec); the connection is
 * plain fetch, so headers (an API key) can be sent, which the browser's `EventSource` cannot do.
 */
export function openEventStream(transport: HttpTransport, id: string, options: EventsOptions = {}): EventStream {
  const state = { lastEventId: options.lastEventId };
  const iterator = follow(transport, id, options, state);
  return Object.defineProperty(iterator, 'lastEventId', { get: () => state.lastEventId, enumerable: true }) as EventStream;
}

async function* follow(
  transport: HttpTransport,
  id: string,
  options: EventsOptions,
  state: { lastEventId: string | undefined },
): AsyncGenerator<StreamEvent, void, undefined> {
  // One controller for the whole stream: leaving the loop (break, return, throw) aborts the
  // connection in flight, and the caller's signal aborts it too.
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal!.reason);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener('abort', onAbort, { once: true });
  let retryMs = 1_000;
  let fruitless = 0;
  const maxReconnects = options.maxReconnects ?? 10;
  try {
    for (;;) {
      const headers: Record<string, string> = { accept: 'text/event-stream' };
      if (state.lastEventId !== undefined) headers['last-event-id'] = state.lastEventId;
      const response = await transport.send({
        method: 'GET',
        path: `/${encodeURIComponent(id)}/events`,
        query: { tree: options.tree ? 1 : undefined },
        headers,
        signal: controller.signal,
        idempotent: true,
      });
      if (response.status === 204 || !response.body) return;

      const queue: StreamEvent[] = [];
      let settled = false;
      const parser = createParser({
        maxBufferSize: maxFrameBytes,
        onRetry: (ms) => {
          retryMs = Math.min(ms, maxRetryMs);
        },
        onEvent: (message) => {
          const event = eventOf(message);
          if (event === undefined) return;
          if (message.id !== undefined) state.lastEventId = message.id;
          queue.push(event);
          if (!options.tree && event.type !== 'tree.progress' && event.id === id && terminal.has(event.status)) settled = true;
        },
      });
      let delivered = 0;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      try {
        for (;;) {
          const { value, done } = (await reader.read()) as { value?: Uint8Array; done: boolean };
          if (done) break;
          parser.feed(decoder.decode(value, { stream: true }));
          while (queue.length > 0) {
            delivered++;
            yield queue.shift()!;
          }
          if (settled) return;
        }
      } catch {
        // The caller's abort ends the stream; anything else is a dropped connection, resumed below.
        if (controller.signal.aborted) throw controller.signal.reason;
      } finally {
        reader.releaseLock();
      }
      // A tree whose every job settled and was delivered has the cursor `*`: nothing to resume.
      if (options.tree && state.lastEventId === '*') return;
      fruitless = delivered > 0 ? 0 : fruitless + 1;
      if (fruitless > maxReconnects) {
        throw new ClientError('STREAM_LOST', `The event stream of job ${id} kept ending without events (${fruitless} reconnections).`);
      }
      await sleep(Math.min(maxRetryMs, retryMs * 2 ** Math.max(0, fruitless - 1)), controller.signal);
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    controller.abort();
  }
}

/**
 * A frame's event, or undefined for one the client does not know (a newer server's). A job
 * event's data carries its `type`; a `tree.progress` frame's data does not, its name is the type.
 */
function eventOf(message: EventSourceMessage): StreamEvent | undefined {
  let data: unknown;
  try {
    data = JSON.parse(message.data);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  if (message.event === 'tree.progress') return { ...(data as Omit<TreeProgressEvent, 'type'>), type: 'tree.progress' };
  const event = data as JobEvent;
  return typeof event.type === 'string' && event.type.startsWith('job.') && event.type === message.event ? event : undefined;
}
