import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdapterContext } from '../adapter-context.js';

/** One open Server-Sent Events response, bounded in what it buffers for its reader. */
export interface SseWriter {
  readonly res: ServerResponse;
  /** False once the stream is over: ended, cut off, or the client left. */
  readonly open: boolean;
  /**
   * Writes one frame. A live frame (pushed, it cannot wait) past `sseBufferBytes` queued for a
   * reader that does not read cuts the reader off: its socket is destroyed, which frees the queued
   * bytes and its slot at once (ending the response would free neither while the client holds the
   * socket). It resumes with Last-Event-ID. A pulled frame (a replay) is written as is: the
   * replay waits on `drained()` instead. Returns `open`.
   */
  send(frame: string, live?: boolean): boolean;
  /** For replays pulled from the store: waits until the reader drained, cutting it off once it stops reading. */
  drained(): Promise<void>;
  /** Ends the stream; a reader that stops reading the rest is cut off. */
  end(): void;
  /** Runs once when the socket closes, whatever closed it. */
  onClose(listener: () => void): void;
}

/** How long a reader with bytes waiting for it may read nothing before it is cut off. */
const stallMs = 1_000;

/**
 * Takes a slot (or throws 503/429 before anything is sent), hijacks the reply and opens the
 * stream with `retry:` and heartbeats.
 */
export function openSse(ctx: AdapterContext, request: FastifyRequest, reply: FastifyReply, retryMs: number): SseWriter {
  const res = reply.raw;
  ctx.sse.take(request.tenant ?? `ip:${request.ip}`, res);
  reply.hijack();
  // The connection ends with the stream: a client that keeps an ended stream's connection in its
  // pool would otherwise hold an idle socket that `app.close()` waits on (a reconnecting
  // EventSource opens a new one anyway).
  res.shouldKeepAlive = false;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-store, no-transform',
    'x-accel-buffering': 'no',
  });
  const { sseBufferBytes: bound, sseHeartbeatMs: heartbeatMs } = ctx.limits;
  const isOpen = () => !res.destroyed && !res.writableEnded;
  const cutOff = () => {
    if (!res.destroyed) res.destroy();
  };
  const heartbeat = setInterval(() => {
    if (isOpen()) send(': heartbeat\n\n');
  }, heartbeatMs).unref();
  res.once('close', () => clearInterval(heartbeat));

  /**
   * A reader that read nothing for `stallMs` while bytes wait for it is cut off: a slow reader
   * always makes some progress, a paused one (or one that left without closing) none.
   */
  function cutOffWhenStalled(): () => void {
    let before = res.writableLength;
    const timer = setInterval(() => {
      if (res.writableLength >= before) cutOff();
      before = res.writableLength;
    }, stallMs).unref();
    return () => clearInterval(timer);
  }

  function send(frame: string, live = true): boolean {
    if (!isOpen()) return false;
    res.write(frame);
    if (live && res.writableLength > bound) cutOff();
    return isOpen();
  }

  send(`retry: ${retryMs}\n\n`);
  return {
    res,
    get open() {
      return isOpen();
    },
    send,
    drained() {
      if (!isOpen() || res.writableLength <= bound) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const stopWatching = cutOffWhenStalled();
        const done = () => {
          stopWatching();
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.once('drain', done);
        res.once('close', done);
      });
    },
    end() {
      if (!isOpen()) return;
      res.end();
      if (res.writableLength > 0) res.once('close', cutOffWhenStalled());
    },
    onClose(listener) {
      if (res.destroyed) listener();
      else res.once('close', listener);
    },
  };
}
