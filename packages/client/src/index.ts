export {
  createClient,
  type Client,
  type JobHandle,
  type SubmitOptions,
  type UploadName,
  type UploadOptions,
  type Waited,
  type WaitOptions,
} from './create-client.js';
export {
  ClientError,
  isProblem,
  JobFailedError,
  ProblemError,
  type HttpProblemCode,
  type JobErrorCode,
  type Problem,
  type ProblemCode,
} from './client-errors.js';
export type { EventStream, EventsOptions } from './event-stream.js';
export type { ListOptions, ListPage, ViewOf } from './list-jobs.js';
export type { ClientOptions, RetryOptions } from './http-transport.js';
export type {
  CancelAnswer,
  InputOf,
  JobErrorView,
  JobName,
  JobSet,
  JobView,
  JobViewBase,
  Outcome,
  OutputOf,
  StreamEvent,
  TreeProgressEvent,
  TreeView,
} from './job-types.js';
