import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { AnyActorLogic, InputFrom, OutputFrom } from 'xstate';
import type { ThreadBatchInput, ThreadBatchModule, ThreadBatchOutput } from '../isolation/thread-batch-task.js';
import type { ThreadModule, ThreadTaskInput, ThreadTaskOutput } from '../isolation/thread-task.js';
import { checkBatchOptions, type BatchContext, type BatchOptions, type BatchResults } from './batch-job.js';
import { checkFlowOptions, type FairShareOptions, type FlowOptions, type RateLimitOptions } from './flow-options.js';
import type { JobContext } from './job-context.js';
import type { RetryPolicy } from './retry-policy.js';

/** What every job definition may set besides its logic. */
export interface JobOptions<Name extends string> {
  /** Unique within a system; the HTTP route is `POST {prefix}/:name`. */
  name: Name;
  /** Attempts (1 means no retry) and back-off between them. */
  retry?: RetryPolicy;
  /** Aborts `ctx.signal` and fails the attempt with `JOB_TIMEOUT` after this long. */
  timeoutMs?: number;
  /** At most this many of this job run at once on one node. */
  concurrency?: number;
  /** Default priority (higher runs first); `submit` may override it. */
  priority?: number;
  /**
   * Binary bodies the HTTP edge takes for this job, as media types or ranges (`'image/png'`,
   * `'image/*'`, `'application/octet-stream'`). Such a body is streamed to the blob store and the
   * job gets `{ blob: BlobRef }` as input. Default none: the job takes JSON only, and a binary
   * body is refused with 415 before a byte of it is stored.
   */
  accepts?: readonly string[];
}

/** The input a machine job's actor receives: the job's input and its context. */
export interface MachineJobInput<I> {
  input: I;
  ctx: JobContext;
}

/** What every kind of job definition carries. */
interface JobDefinitionBase<Name extends string, Input, Output> extends JobOptions<Name> {
  readonly schema: StandardSchemaV1 | undefined;
  /** Held by the store across nodes (docs/flow-control.md). */
  readonly rateLimit?: RateLimitOptions<never>;
  readonly fairShare?: FairShareOptions<never>;
  readonly '~types'?: { input: Input; output: Output };
}

/** A job whose logic is a function (`run:`), called on the event loop. */
export interface RunJobDefinition<Name extends string = string, Input = unknown, Output = unknown> extends JobDefinitionBase<Name, Input, Output> {
  readonly kind: 'run';
  /** Called with the validated input (its type is `Input` once the schema has parsed it). */
  readonly run: (input: unknown, ctx: JobContext) => unknown;
}

/** A job whose logic is an xstate actor logic (`machine:`); its states show in the inspector. */
export interface MachineJobDefinition<Name extends string = string, Input = unknown, Output = unknown> extends JobDefinitionBase<
  Name,
  Input,
  Output
> {
  readonly kind: 'machine';
  readonly machine: AnyActorLogic;
}

/** A job whose logic is a module's default export, run in the system's worker threads. */
export interface ThreadJobDefinition<Name extends string = string, Input = unknown, Output = unknown> extends JobDefinitionBase<Name, Input, Output> {
  readonly kind: 'thread';
  /** The module (a `file:` URL) whose default export runs in the system's thread pool. */
  readonly module: string;
}

/**
 * A job whose attempts run together (`batch:`): up to `batch.max` claimed jobs of this name go to
 * one call, inline (`runBatch`) or in the system's worker threads (`module`), and each job is
 * settled with its own entry of the answer.
 */
export interface BatchJobDefinition<Name extends string = string, Input = unknown, Output = unknown> extends JobDefinitionBase<Name, Input, Output> {
  readonly kind: 'batch';
  readonly batch: Readonly<BatchOptions>;
  /** Exactly one of `runBatch` (called on the event loop) and `module` (a `file:` URL run in a thread) is set. */
  readonly runBatch: ((inputs: unknown[], ctx: BatchContext) => unknown) | undefined;
  readonly module: string | undefined;
}

/**
 * A registered kind of job, one of four by `kind`. `Input` is what `submit()` accepts, `Output`
 * what `result()` gives. The types ride along as a phantom field so they flow to `submit()`
 * without a registry.
 */
export type JobDefinition<Name extends string = string, Input = unknown, Output = unknown> =
  | RunJobDefinition<Name, Input, Output>
  | MachineJobDefinition<Name, Input, Output>
  | ThreadJobDefinition<Name, Input, Output>
  | BatchJobDefinition<Name, Input, Output>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any job, whatever its input and output (unknown would reject every typed job by variance)
export type AnyJobDefinition = JobDefinition<string, any, any>;
export type JobInput<J> = J extends JobDefinition<string, infer I, unknown> ? I : never;
export type JobOutput<J> = J extends JobDefinition<string, unknown, infer O> ? O : never;

type RunSpec<Name extends string, I, O> = JobOptions<Name> & FlowOptions<I> & { run: (input: I, ctx: JobContext) => O; machine?: never };
type SchemaRunSpec<Name extends string, S extends StandardSchemaV1, O> = JobOptions<Name> &
  FlowOptions<StandardSchemaV1.InferOutput<S>> & {
    input: S;
    run: (input: StandardSchemaV1.InferOutput<S>, ctx: JobContext) => O;
    machine?: never;
  };
type MachineSpec<Name extends string, L extends AnyActorLogic> = JobOptions<Name> & FlowOptions<MachineInput<L>> & { machine: L; run?: never };
type SchemaMachineSpec<Name extends string, S extends StandardSchemaV1, L extends AnyActorLogic> = MachineSpec<Name, L> & { input: S };

/** `isolation: 'thread'`: the logic is a module's default export, run in a worker thread. */
type ThreadSpec<Name extends string, M extends ThreadModule> = JobOptions<Name> &
  FlowOptions<ThreadTaskInput<M>> & { isolation: 'thread'; module: M; run?: never; machine?: never };
type SchemaThreadSpec<Name extends string, S extends StandardSchemaV1, M extends ThreadModule> = ThreadSpec<Name, M> & { input: S };

/** `batch:` with `runBatch`: the inputs of up to `batch.max` jobs in one call, one result (or Error) each. */
type BatchSpec<Name extends string, I, O> = JobOptions<Name> & {
  batch: BatchOptions;
  runBatch: (inputs: I[], ctx: BatchContext) => BatchResults<O> | Promise<BatchResults<O>>;
  run?: never;
  machine?: never;
};
type SchemaBatchSpec<Name extends string, S extends StandardSchemaV1, O> = BatchSpec<Name, StandardSchemaV1.InferOutput<S>, O> & { input: S };
type ThreadBatchSpec<Name extends string, M extends ThreadBatchModule> = JobOptions<Name> & {
  batch: BatchOptions;
  isolation: 'thread';
  module: M;
  runBatch?: never;
  run?: never;
  machine?: never;
};
type SchemaThreadBatchSpec<Name extends string, S extends StandardSchemaV1, M extends ThreadBatchModule> = ThreadBatchSpec<Name, M> & { input: S };

type MachineInput<L extends AnyActorLogic> = InputFrom<L> extends MachineJobInput<infer I> ? I : never;

/** `type/subtype` or `type/*` (RFC 9110 tokens); JSON is every job's own body, never a binary one. */
const binaryMediaRange = /^(?!application\/json$)[a-z0-9!#$&^_.+-]+\/(?:\*|[a-z0-9!#$&^_.+-]+)$/i;

/**
 * Defines a kind of job: its name, input schema, logic and policies.
 *
 * @example
 * const resize = defineJob({
 *   name: 'resize',
 *   input: z.object({ width: z.number().int().positive() }),
 *   retry: { attempts: 3, backoff: { type: 'exponential', delayMs: 200, jitter: true } },
 *   timeoutMs: 30_000,
 *   async run(input, ctx) {
 *     return { width: input.width };
 *   },
 * });
 *
 * // CPU-bound logic runs in the system's worker threads (see docs/cpu-heavy-jobs.md);
 * // `import type * as blurTask from './blur.task.js'` carries the module's types:
 * const blur = defineJob({
 *   name: 'blur',
 *   isolation: 'thread',
 *   module: threadModule<typeof blurTask>(new URL('./blur.task.js', import.meta.url)),
 * });
 *
 * // Batched (docs/ml-jobs.md): up to 8 queued jobs run as one call, each settled on its own.
 * const embed = defineJob({
 *   name: 'embed',
 *   batch: { max: 8, waitMs: 5 },
 *   async runBatch(inputs: { text: string }[], ctx) {
 *     return inputs.map((input) => (input.text ? { length: input.text.length } : new NonRetryableError('empty text')));
 *   },
 * });
 */
export function defineJob<const Name extends string, S extends StandardSchemaV1, M extends ThreadBatchModule>(
  spec: SchemaThreadBatchSpec<Name, S, M>,
): JobDefinition<Name, StandardSchemaV1.InferInput<S>, ThreadBatchOutput<M>>;
export function defineJob<const Name extends string, M extends ThreadBatchModule>(
  spec: ThreadBatchSpec<Name, M>,
): JobDefinition<Name, ThreadBatchInput<M>, ThreadBatchOutput<M>>;
export function defineJob<const Name extends string, S extends StandardSchemaV1, O>(
  spec: SchemaBatchSpec<Name, S, O>,
): JobDefinition<Name, StandardSchemaV1.InferInput<S>, O>;
export function defineJob<const Name extends string, I, O>(spec: BatchSpec<Name, I, O>): JobDefinition<Name, I, O>;
export function defineJob<const Name extends string, S extends StandardSchemaV1, M extends ThreadModule>(
  spec: SchemaThreadSpec<Name, S, M>,
): JobDefinition<Name, StandardSchemaV1.InferInput<S>, ThreadTaskOutput<M>>;
export function defineJob<const Name extends string, M extends ThreadModule>(
  spec: ThreadSpec<Name, M>,
): JobDefinition<Name, ThreadTaskInput<M>, ThreadTaskOutput<M>>;
export function defineJob<const Name extends string, S extends StandardSchemaV1, O>(
  spec: SchemaRunSpec<Name, S, O>,
): JobDefinition<Name, StandardSchemaV1.InferInput<S>, Awaited<O>>;
export function defineJob<const Name extends string, I = void, O = unknown>(spec: RunSpec<Name, I, O>): JobDefinition<Name, I, Awaited<O>>;
export function defineJob<const Name extends string, S extends StandardSchemaV1, L extends AnyActorLogic>(
  spec: SchemaMachineSpec<Name, S, L>,
): JobDefinition<Name, StandardSchemaV1.InferInput<S>, OutputFrom<L>>;
export function defineJob<const Name extends string, L extends AnyActorLogic>(
  spec: MachineSpec<Name, L>,
): JobDefinition<Name, MachineInput<L>, OutputFrom<L>>;
export function defineJob(
  spec: JobOptions<string> & {
    rateLimit?: RateLimitOptions<never>;
    fairShare?: FairShareOptions<never>;
    input?: StandardSchemaV1;
    run?: (input: never, ctx: JobContext) => unknown;
    machine?: AnyActorLogic;
    isolation?: 'inline' | 'thread';
    module?: ThreadModule | ThreadBatchModule;
    batch?: BatchOptions;
    runBatch?: (inputs: never[], ctx: BatchContext) => unknown;
  },
): AnyJobDefinition {
  if (typeof spec.name !== 'string' || !/^[a-zA-Z0-9][\w.-]{0,99}$/.test(spec.name)) {
    throw new TypeError(`defineJob: name must be 1-100 characters of letters, digits, '.', '_' or '-' (got ${JSON.stringify(spec.name)})`);
  }
  const thread = spec.isolation === 'thread';
  const batch = spec.batch === undefined ? undefined : checkBatchOptions(spec.name, spec.batch);
  if (batch) {
    if (spec.run !== undefined || spec.machine !== undefined || (thread ? spec.module === undefined || spec.runBatch : !spec.runBatch)) {
      throw new TypeError(`defineJob(${spec.name}): a batch job gives runBatch, or isolation: 'thread' with a module (not run or machine)`);
    }
  } else if (spec.runBatch !== undefined) {
    throw new TypeError(`defineJob(${spec.name}): runBatch needs batch: { max, waitMs }`);
  } else if (
    thread
      ? spec.module === undefined || spec.run !== undefined || spec.machine !== undefined
      : (spec.run === undefined) === (spec.machine === undefined)
  ) {
    throw new TypeError(`defineJob(${spec.name}): give exactly one of run or machine, or isolation: 'thread' with a module`);
  }
  if (spec.concurrency !== undefined && !(Number.isInteger(spec.concurrency) && spec.concurrency > 0)) {
    throw new TypeError(`defineJob(${spec.name}): concurrency must be a positive integer`);
  }
  if (spec.timeoutMs !== undefined && !(typeof spec.timeoutMs === 'number' && spec.timeoutMs > 0)) {
    // Infinity is allowed (no timeout); the clock chunks delays past a timer's 2^31-1 ms range.
    throw new TypeError(`defineJob(${spec.name}): timeoutMs must be a positive number of ms (or Infinity for none)`);
  }
  const badType = spec.accepts?.find((type) => !binaryMediaRange.test(type));
  if (badType !== undefined) {
    throw new TypeError(
      `defineJob(${spec.name}): accepts takes binary media types such as 'image/png' or 'image/*' (got ${JSON.stringify(badType)})`,
    );
  }
  checkFlowOptions(spec.name, spec);
  const options: JobOptions<string> & FlowOptions<never> & { schema: StandardSchemaV1 | undefined } = { name: spec.name, schema: spec.input };
  if (spec.retry !== undefined) options.retry = spec.retry;
  if (spec.timeoutMs !== undefined && spec.timeoutMs !== Infinity) options.timeoutMs = spec.timeoutMs;
  if (spec.concurrency !== undefined) options.concurrency = spec.concurrency;
  if (spec.priority !== undefined) options.priority = spec.priority;
  if (spec.rateLimit !== undefined) options.rateLimit = Object.freeze({ ...spec.rateLimit });
  if (spec.fairShare !== undefined) options.fairShare = Object.freeze({ ...spec.fairShare });
  if (spec.accepts !== undefined) options.accepts = Object.freeze(spec.accepts.map((type) => type.toLowerCase()));
  // The one place the input type is forgotten: `run` is only ever called with input the job's
  // schema (or its declared type) has already admitted.
  const definition: AnyJobDefinition = batch
    ? { ...options, kind: 'batch', batch, runBatch: spec.runBatch as BatchJobDefinition['runBatch'], module: thread ? spec.module!.url : undefined }
    : thread
      ? { ...options, kind: 'thread', module: spec.module!.url }
      : spec.run
        ? { ...options, kind: 'run', run: spec.run as (input: unknown, ctx: JobContext) => unknown }
        : { ...options, kind: 'machine', machine: spec.machine! };
  return Object.freeze(definition);
}
