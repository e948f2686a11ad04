import { request, type Agent } from 'node:http';

export interface Outcome {
  status: number;
  /** ms from send to the end of the response (or the error). */
  ms: number;
  /** performance.now() when sent. */
  at: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface OpenLoadOptions {
  url: string;
  /** Requests per second, sent on schedule whether or not earlier ones were answered (open model). */
  rate: number;
  seconds: number;
  body: string;
  headers?: Record<string, string>;
  agent: Agent;
  /** A request not answered within this long counts as status 0. */
  timeoutMs?: number;
}

/** One POST; never rejects: a socket error or a timeout is status 0. */
export function post(url: string, body: string, agent: Agent, headers: Record<string, string> = {}, timeoutMs = 30_000): Promise<Outcome> {
  const at = performance.now();
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers }, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - at, at, body: text, headers: res.headers }));
      res.on('error', () => resolve({ status: 0, ms: performance.now() - at, at, body: '', headers: {} }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, ms: performance.now() - at, at, body: '', headers: {} }));
    req.end(body);
  });
}

/**
 * Open-model load: arrivals at a fixed rate for a fixed time, like independent clients. A closed
 * loop (autocannon's connections) slows down with the server and hides overload; this does not.
 */
export async function openLoad(options: OpenLoadOptions): Promise<Outcome[]> {
  const { url, rate, seconds, body, headers, agent, timeoutMs } = options;
  const total = Math.round(rate * seconds);
  const pending: Promise<Outcome>[] = [];
  const began = performance.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((performance.now() - began) / 1_000) * rate));
      while (pending.length < due) pending.push(post(url, body, agent, headers, timeoutMs));
      if (pending.length >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 5);
  });
  return Promise.all(pending);
}
