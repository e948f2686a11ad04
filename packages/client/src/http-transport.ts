import { ClientError, ProblemError, type Problem, type ProblemCode } from './client-errors.js';

/** How the client retries what the server asked it to retry later. */
export interface RetryOptions {
  /** Retries after the first try. Default 3. */
  attempts?: number;
  /** A `Retry-After` longer than this is not waited for: the problem is thrown at once. Default 30 s. */
  maxDelayMs?: number;
}

export interface ClientOptions {
  /** Where the plugin's job routes live, prefix included: `https://api.example.com/jobs`. */
  baseUrl: string | URL;
  /** Sent as `x-api-key` (or `apiKeyHeader`); the server's auth gives the tenant from it. */
  apiKey?: string;
  /** The header that carries `apiKey`, as the server's `auth.header`. Default `x-api-key`. */
  apiKeyHeader?: string;
  /** Sent as `Authorization: Bearer <token>` instead of an API key (a JWT, say). */
  bearer?: string;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** The fetch to use. Default the global one (Node 20+, browsers). */
  fetch?: typeof fetch;
  /**
   * 429 and 503 answers carry `Retry-After`: the client waits that long and retries, at most
   * `attempts` times. `false` turns it off (every 429/503 is thrown as a `ProblemError`).
   */
  retry?: RetryOptions | false;
}

/** 503s whose code says the job was not taken: a retry of a POST without an idempotency key cannot duplicate it. */
const refusedBeforeAccepting = new Set<ProblemCode>(['QUEUE_FULL', 'WAITING_PARENTS_FULL', 'SHUTTING_DOWN', 'NOT_STARTED', 'UNHEALTHY', 'NOT_READY']);

/** What fetch takes as a body (`BodyInit`, which Node's types do not name globally). */
export type RequestBody = NonNullable<RequestInit['body']>;

export interface TransportRequest {
  method: 'GET' | 'POST' | 'DELETE';
  /** Relative to `baseUrl`, starting with `/` (or empty for the base itself). */
  path: string;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  body?: RequestBody | undefined;
  signal?: AbortSignal | undefined;
  /**
   * Whether sending it twice is harmless: GET and DELETE are; a POST is when it carries an
   * Idempotency-Key. A request that is not is retried only after a refusal that took nothing.
   */
  idempotent: boolean;
}

/**
 * The one place requests are sent: headers, `Retry-After`, network retries of idempotent requests
 * and problem documents turned into `ProblemError`s. Uses only fetch, `AbortSignal` and timers,
 * so it runs in Node 20 and in browsers alike.
 */
export class HttpTransport {
  private readonly base: string;
  private readonly fetch: typeof fetch;
  private readonly headers: Record<string, string>;
  private readonly attempts: number;
  private readonly maxDelayMs: number;

  constructor(options: ClientOptions) {
    this.base = String(options.baseUrl).replace(/\/+$/, '');
    // Called bare, a browser's fetch throws "Illegal invocation".
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.headers = { ...options.headers };
    if (options.apiKey !== undefined) this.headers[(options.apiKeyHeader ?? 'x-api-key').toLowerCase()] = options.apiKey;
    if (options.bearer !== undefined) this.headers['authorization'] = `Bearer ${options.bearer}`;
    this.attempts = options.retry === false ? 0 : (options.retry?.attempts ?? 3);
    this.maxDelayMs = options.retry === false ? 0 : (options.retry?.maxDelayMs ?? 30_000);
  }

  url(path: string, query?: TransportRequest['query']): string {
    let url = this.base + path;
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined) params.set(name, String(value));
    const search = params.toString();
    if (search) url += `?${search}`;
    return url;
  }

  /** Sends the request, retrying as allowed; resolves with a 2xx response, else throws. */
  async send(request: TransportRequest): Promise<Response> {
    const url = this.url(request.path, request.query);
    const init: RequestInit = { method: request.method, headers: { ...this.headers, ...request.headers } };
    if (request.body !== undefined) init.body = request.body;
    if (request.signal) init.signal = request.signal;
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await this.fetch(url, init);
      } catch (error) {
        // A network failure: the request may or may not have reached the server.
        if (request.signal?.aborted || !request.idempotent || attempt >= this.attempts) throw error;
        await sleep(backoffMs(attempt), request.signal);
        continue;
      }
      if (response.ok || response.status === 304) return response;
      const problem = await problemOf(response);
      const delay = this.retryDelay(problem, response, request, attempt);
      if (delay === undefined) throw toError(problem);
      await sleep(delay, request.signal);
    }
  }

  /** How long to wait before trying again, or undefined to give up with the problem. */
  private retryDelay(problem: Problem, response: Response, request: TransportRequest, attempt: number): number | undefined {
    if (attempt >= this.attempts || (response.status !== 429 && response.status !== 503)) return undefined;
    if (!request.idempotent && response.status === 503 && !refusedBeforeAccepting.has(problem.code)) return undefined;
    const ms = retryAfterMs(response.headers.get('retry-after')) ?? backoffMs(attempt);
    return ms <= this.maxDelayMs ? ms : undefined;
  }
}

/** The body of an error answer as a problem; one that is not a problem document gets the code UNEXPECTED_RESPONSE. */
export async function problemOf(response: Response): Promise<Problem> {
  const type = response.headers.get('content-type') ?? '';
  const text = await response.text().catch(() => '');
  if (/json/i.test(type)) {
    try {
      const body = JSON.parse(text) as Partial<Problem>;
      if (body && typeof body.code === 'string') return { ...body, status: body.status ?? response.status } as Problem;
    } catch {
      // Not JSON after all: described below.
    }
  }
  return {
    type: 'about:blank',
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    detail: `The server answered ${response.status} without a problem document${text ? `: ${text.slice(0, 200)}` : ''}.`,
    instance: response.url,
    code: 'UNEXPECTED_RESPONSE' as ProblemCode,
  };
}

export function toError(problem: Problem): ProblemError {
  return new ProblemError(problem, problem.code);
}

/** `Retry-After` as seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(header: string | null): number | undefined {
  if (header === null) return undefined;
  if (/^\d{1,9}$/.test(header.trim())) return Number(header.trim()) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** Exponential with full jitter: 250 ms, 500 ms, 1 s, ... capped at 10 s. */
export function backoffMs(attempt: number): number {
  return Math.round(Math.random() * Math.min(10_000, 250 * 2 ** attempt));
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A response body the client expected to be JSON. */
export async function jsonOf<T>(response: Response): Promise<T> {
  try {
    return (await response.json()) as T;
  } catch (error) {
    throw new ClientError('UNEXPECTED_RESPONSE', `The server answered ${response.status} with a body that is not JSON.`, { cause: error });
  }
}
