import { request, type Agent } from 'node:http';
import { sleep } from './process-group.js';

export interface SseEvent {
  id: string;
  type: string;
  data: string;
}

export interface SseFollow {
  events: SseEvent[];
  /** Responses that ended before `done` said the stream was over, each followed by a reconnect. */
  reconnects: number;
  /** Non-200 answers other than the final 204 (503/429 with Retry-After), each retried. */
  refusals: number;
  /** `done` held for an event, and the server then ended the stream. */
  finished: boolean;
  /** What a reconnect with the last id got after the end: 204 is "you have everything". */
  afterEnd: number | undefined;
  /** ms from the first request to the event `done` accepted. */
  tookMs: number;
  error: string | undefined;
}

export interface FollowOptions {
  agent: Agent;
  /** The event after which the stream must end (a job's settled event, the last job of a tree). */
  done: (event: SseEvent, all: readonly SseEvent[]) => boolean;
  /** Gives up (and says so) after this long. */
  timeoutMs: number;
  maxReconnects?: number;
}

/**
 * Follows one event stream as a browser's EventSource does, over a real socket: it parses the
 * frames, and when a response ends early it reconnects with `Last-Event-ID` after the server's
 * `retry:`. Once `done` accepts an event and the response ends, it reconnects once more the
 * same way: the server must answer 204, the SSE way to say "do not reconnect".
 */
export async function followSse(url: string, options: FollowOptions): Promise<SseFollow> {
  const { agent, done, timeoutMs, maxReconnects = 50 } = options;
  const result: SseFollow = { events: [], reconnects: 0, refusals: 0, finished: false, afterEnd: undefined, tookMs: 0, error: undefined };
  const began = Date.now();
  let lastId = '';
  let retryMs = 1_000;
  while (Date.now() - began < timeoutMs) {
    const answer = await once(url, lastId, agent, timeoutMs - (Date.now() - began), (event) => {
      result.events.push(event);
      if (event.id !== '') lastId = event.id;
      if (!result.finished && done(event, result.events)) {
        result.finished = true;
        result.tookMs = Date.now() - began;
      }
    });
    if (answer.retryMs !== undefined) retryMs = answer.retryMs;
    if (result.finished && answer.status === 200) {
      result.afterEnd = (await once(url, lastId, agent, 10_000, () => {})).status;
      return result;
    }
    if (answer.status === 204) {
      if (!result.finished) result.error = 'the server answered 204 before the stream had its last event';
      result.afterEnd = 204;
      return result;
    }
    if (answer.status === 200) result.reconnects++;
    else if (answer.status !== 0) result.refusals++;
    else result.reconnects++;
    if (result.reconnects + result.refusals > maxReconnects) break;
    await sleep(answer.retryAfterMs ?? retryMs);
  }
  result.error ??= `no last event within ${timeoutMs} ms (${result.events.length} events, ${result.reconnects} reconnects)`;
  return result;
}

interface Answer {
  status: number;
  retryMs?: number;
  retryAfterMs?: number;
}

function once(url: string, lastId: string, agent: Agent, timeoutMs: number, onEvent: (event: SseEvent) => void): Promise<Answer> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (lastId !== '') headers['last-event-id'] = lastId;
    const answer: Answer = { status: 0 };
    const req = request(url, { agent, headers }, (res) => {
      answer.status = res.statusCode ?? 0;
      const retryAfter = Number(res.headers['retry-after']);
      if (Number.isFinite(retryAfter)) answer.retryAfterMs = retryAfter * 1_000;
      let buffered = '';
      let frame: SseEvent = { id: '', type: 'message', data: '' };
      res.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline).replace(/\r$/, '');
          buffered = buffered.slice(newline + 1);
          if (line === '') {
            if (frame.data !== '' || frame.type !== 'message') onEvent(frame);
            frame = { id: frame.id, type: 'message', data: '' };
            continue;
          }
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') frame.id = value;
          else if (field === 'event') frame.type = value;
          else if (field === 'data') frame.data = frame.data === '' ? value : `${frame.data}\n${value}`;
          else if (field === 'retry' && /^\d+$/.test(value)) answer.retryMs = Number(value);
        }
      });
      res.on('end', () => resolve(answer));
      res.on('error', () => resolve(answer));
      res.on('close', () => resolve(answer));
    });
    // A hard deadline, not an idle timeout: heartbeats keep a stream that never ends busy.
    const deadline = setTimeout(() => req.destroy(new Error('timeout')), Math.max(1, timeoutMs));
    req.on('close', () => clearTimeout(deadline));
    req.on('error', () => resolve(answer));
    req.end();
  });
}
