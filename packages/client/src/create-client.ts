import type { JobStatus } from '@scalable-api/core';
import { ClientError, JobFailedError } from './client-errors.js';
import { openEventStream, type EventStream, type EventsOptions } from './event-stream.js';
import { HttpTransport, jsonOf, type ClientOptions } from './http-transport.js';
import type { RequestBody } from './http-transport.js';
import type { CancelAnswer, InputArgs, InputOf, JobName, JobSet, JobView, Outcome, OutputOf, TreeView } from './job-types.js';
import { listEvery, listPage, type ListOptions, type ListPage, type ViewOf } from './list-jobs.js';

export interface SubmitOptions {
  /** The same key (per tenant) returns the same job instead of a second one: retries are then safe. */
  idempotencyKey?: string;
  /** W3C trace context, so the job's spans join the caller's trace. */
  traceparent?: string;
  tracestate?: string;
  signal?: AbortSignal;
}

export interface WaitOptions extends SubmitOptions {
  /** `Prefer: wait=N`: how long the server holds the answer for the outcome. Default 30 (the server caps it). */
  seconds?: number;
}

export interface UploadOptions extends SubmitOptions {
  /** The body's media type, one the job `accepts`. Default the Blob's own type, else `application/octet-stream`. */
  contentType?: string;
}

/** A submitted job, typed with its output. */
export interface JobHandle<O = unknown> {
  readonly id: string;
  /** Status when it was accepted. */
  readonly status: JobStatus;
  /** False when an Idempotency-Key returned an existing job. */
  readonly created: boolean;
  /** True when the server's store survives a crash of the server. */
  readonly durable: boolean;
  /** The job's URL (the `Location` header). */
  readonly url: string;
  /** The output once the job completed; rejects with `JobFailedError` when it failed or was cancelled. */
  result(options?: { signal?: AbortSignal }): Promise<O>;
  get(): Promise<JobView>;
  events(options?: EventsOptions): EventStream;
  tree(): Promise<TreeView>;
  cancel(options?: { signal?: AbortSignal }): Promise<CancelAnswer>;
}

/** `wait()`'s answer: the handle, and the outcome when the job settled within the wait. */
export type Waited<O> = JobHandle<O> & { readonly outcome: Outcome<O> | undefined };

/** Names of the jobs whose input is an uploaded blob (`defineJob({ accepts })`). */
export type UploadName<Jobs extends JobSet> = { [N in JobName<Jobs>]: InputOf<Jobs, N> extends { blob: unknown } ? N : never }[JobName<Jobs>];

export interface Client<Jobs extends JobSet> {
  /** `POST {prefix}/:name`: 202 with the job's id; the handle's `result()` has the job's output type. */
  submit<N extends JobName<Jobs>>(name: N, ...args: InputArgs<InputOf<Jobs, N>, SubmitOptions>): Promise<JobHandle<OutputOf<Jobs, N>>>;
  /** Submits with `Prefer: wait=N`: `outcome` is set when the job settled within the wait. */
  wait<N extends JobName<Jobs>>(name: N, ...args: InputArgs<InputOf<Jobs, N>, WaitOptions>): Promise<Waited<OutputOf<Jobs, N>>>;
  /** A binary body for a job that `accepts` it: streamed to the server's blob store, the job gets `{ blob }`. */
  upload<N extends UploadName<Jobs>>(
    name: N,
    body: Blob | ArrayBuffer | ArrayBufferView,
    options?: UploadOptions,
  ): Promise<JobHandle<OutputOf<Jobs, N>>>;
  /** A handle for a job submitted earlier (its id kept somewhere), typed by its name. */
  handle<N extends JobName<Jobs>>(name: N, id: string): JobHandle<OutputOf<Jobs, N>>;
  /** `GET {prefix}/:id`: narrowing on `name` types `output`. */
  get(id: string, options?: { signal?: AbortSignal }): Promise<JobView<Jobs>>;
  /** The output of the job, waiting for it to settle (through its event stream); rejects with `JobFailedError`. */
  result(id: string, options?: { signal?: AbortSignal }): Promise<OutputOf<Jobs, JobName<Jobs>>>;
  /** `GET {prefix}/:id/events` as an async iterator that resumes by itself. */
  events(id: string, options?: EventsOptions): EventStream;
  /** `GET {prefix}/:id/tree`. */
  tree(id: string, options?: { signal?: AbortSignal }): Promise<TreeView>;
  /** `DELETE {prefix}/:id`: cancels the job and its subtree. */
  cancel(id: string, options?: { signal?: AbortSignal }): Promise<CancelAnswer>;
  /**
   * `GET {prefix}`: a page of the caller's jobs in submission order, filtered; pass its `cursor`
   * back for the next. A page may be short, even empty, with a cursor: the server bounds the work
   * of each request.
   */
  list<N extends JobName<Jobs> = JobName<Jobs>>(options?: ListOptions<N>): Promise<ListPage<ViewOf<Jobs, N>>>;
  /** Every job of the listing, page after page as the loop reads on. */
  listAll<N extends JobName<Jobs> = JobName<Jobs>>(options?: Omit<ListOptions<N>, 'cursor'>): AsyncGenerator<ViewOf<Jobs, N>, void, undefined>;
}

interface Accepted {
  id: string;
  status: JobStatus;
  durable: boolean;
  output?: unknown;
  error?: { code: string; message: string };
}

/**
 * A client for the job routes of a server, typed from the server's job definitions. Pass their
 * type (a type-only import keeps the server's code out of the bundle); names, inputs and outputs
 * are then checked at compile time. Uses fetch only: Node 20+ and browsers.
 *
 * @example
 * import type { jobs } from '../server/jobs.js';
 * const client = createClient<typeof jobs>({ baseUrl: 'http://127.0.0.1:3000/jobs', apiKey: process.env.API_KEY });
 * const job = await client.submit('resize', { width: 64 });
 * const { width } = await job.result();
 * for await (const event of job.events()) console.log(event.type);
 */
export function createClient<Jobs extends JobSet>(options: ClientOptions): Client<Jobs> {
  const transport = new HttpTransport(options);
  const path = (id: string) => `/${encodeURIComponent(id)}`;

  const getJob = async (id: string, signal?: AbortSignal) =>
    jsonOf<JobView<Jobs>>(await transport.send({ method: 'GET', path: path(id), signal, idempotent: true }));

  async function result(id: string, signal?: AbortSignal): Promise<unknown> {
    const view = await getJob(id, signal);
    if (view.status === 'completed') return view.output;
    if (view.status === 'failed' || view.status === 'cancelled') throw failed(id, view.status, view.error);
    // The stream replays the job's events from its first, so a settlement between the read above
    // and the stream's start is in it.
    for await (const event of openEventStream(transport, id, signal ? { signal } : {})) {
      if (event.type === 'job.completed' && event.id === id) return event.output;
      if ((event.type === 'job.failed' || event.type === 'job.cancelled') && event.id === id) throw failed(id, event.status, event.error);
    }
    // The stream ended without the settlement (it was answered 204): the record has it.
    return result(id, signal);
  }

  /** `never`: the output type is the caller's to state (a handle of job N has N's output), fetched JSON has none. */
  function handleOf(accepted: Accepted, created: boolean, location: string | null): JobHandle<never> {
    const { id } = accepted;
    return {
      id,
      status: accepted.status,
      created,
      durable: accepted.durable,
      url: new URL(location ?? transport.url(path(id)), transport.url('')).href,
      result: (opts) => result(id, opts?.signal) as Promise<never>,
      get: () => getJob(id),
      events: (opts) => openEventStream(transport, id, opts),
      tree: () => client.tree(id),
      cancel: (opts) => client.cancel(id, opts),
    };
  }

  async function post(name: string, body: RequestBody | undefined, contentType: string | undefined, opts: WaitOptions | undefined, wait: boolean) {
    const headers: Record<string, string> = {};
    if (contentType !== undefined) headers['content-type'] = contentType;
    if (opts?.idempotencyKey !== undefined) headers['idempotency-key'] = opts.idempotencyKey;
    if (opts?.traceparent !== undefined) headers['traceparent'] = opts.traceparent;
    if (opts?.tracestate !== undefined) headers['tracestate'] = opts.tracestate;
    if (wait) headers['prefer'] = `wait=${Math.max(0, Math.floor(opts?.seconds ?? 30))}`;
    const response = await transport.send({
      method: 'POST',
      path: `/${encodeURIComponent(name)}`,
      headers,
      body,
      signal: opts?.signal,
      idempotent: opts?.idempotencyKey !== undefined,
    });
    const accepted = await jsonOf<Accepted>(response);
    const handle = handleOf(accepted, response.headers.get('idempotent-replayed') !== 'true', response.headers.get('location'));
    return { response, accepted, handle };
  }

  const json = (input: unknown): [RequestBody | undefined, string | undefined] =>
    input === undefined ? [undefined, undefined] : [JSON.stringify(input), 'application/json'];

  const client: Client<Jobs> = {
    async submit(name, ...[input, opts]) {
      return (await post(name, ...json(input), opts, false)).handle;
    },
    async wait(name, ...[input, opts]) {
      const { response, accepted, handle } = await post(name, ...json(input), opts, true);
      const outcome = response.status === 200 ? outcomeOf(accepted) : undefined;
      return Object.assign(handle, { outcome }) as never;
    },
    async upload(name, body, opts) {
      const type = opts?.contentType ?? (typeof Blob !== 'undefined' && body instanceof Blob && body.type ? body.type : 'application/octet-stream');
      return (await post(name, body as RequestBody, type, opts, false)).handle;
    },
    handle(_name, id) {
      return handleOf({ id, status: 'queued', durable: false }, false, null);
    },
    get: (id, opts) => getJob(id, opts?.signal),
    result: (id, opts) => result(id, opts?.signal) as never,
    events: (id, opts) => openEventStream(transport, id, opts),
    async tree(id, opts) {
      return jsonOf<TreeView>(await transport.send({ method: 'GET', path: `${path(id)}/tree`, signal: opts?.signal, idempotent: true }));
    },
    async cancel(id, opts) {
      return jsonOf<CancelAnswer>(await transport.send({ method: 'DELETE', path: path(id), signal: opts?.signal, idempotent: true }));
    },
    list: (opts) => listPage(transport, opts),
    listAll: (opts) => listEvery(transport, opts),
  };
  return client;
}

function outcomeOf<O>(answer: Accepted): Outcome<O> {
  if (answer.status === 'completed') return { status: 'completed', output: answer.output as O };
  if (answer.status === 'failed' || answer.status === 'cancelled') {
    return { status: answer.status, error: answer.error ?? { code: 'JOB_FAILED', message: answer.status } };
  }
  throw new ClientError('UNEXPECTED_RESPONSE', `A 200 answer to Prefer: wait with status ${JSON.stringify(answer.status)}.`);
}

function failed(id: string, status: 'failed' | 'cancelled', error: { code: string; message: string } | undefined): JobFailedError {
  return new JobFailedError(id, status, error ?? { code: status === 'cancelled' ? 'JOB_CANCELLED' : 'JOB_FAILED', message: status });
}
