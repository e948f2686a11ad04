export { createJobSystem } from './system/create-job-system.js';
export type {
  CancelResult,
  EventsOptions,
  Health,
  JobHandle,
  JobInfo,
  JobSystem,
  JobSystemOptions,
  JobSystemStats,
  StopOptions,
  SubmitManyItem,
  SubmitManyOptions,
  SubmitManyResult,
  SubmitOptions,
  SubmitTreeOptions,
  TreeNode,
  TreeSpec,
} from './system/job-system.js';
export { isTenant, tenantPattern } from './system/tenant.js';
export type { NodeCounters, NodeLiveState, NodeLiveStore } from './system/node-state.js';
export type { WaitOptions } from './system/result-waiters.js';
export { actorsView } from './system/actor-view.js';
export type { ActorsView, WorkerView } from './system/actor-view.js';
export { defineJob } from './job/define-job.js';
export { newJobId } from './job/new-job-id.js';
export { threadModule } from './isolation/thread-task.js';
export type { ThreadContext, ThreadModule, ThreadTask, ThreadTaskInput, ThreadTaskOutput } from './isolation/thread-task.js';
export type { ThreadPoolOptions } from './isolation/thread-pool.js';
export { threadBatchModule } from './isolation/thread-batch-task.js';
export type { ThreadBatchContext, ThreadBatchInput, ThreadBatchModule, ThreadBatchOutput, ThreadBatchTask } from './isolation/thread-batch-task.js';
export { maxBatchSize } from './job/batch-job.js';
export type { BatchContext, BatchOptions, BatchResults } from './job/batch-job.js';
export type {
  AnyJobDefinition,
  BatchJobDefinition,
  JobDefinition,
  JobInput,
  JobOptions,
  JobOutput,
  MachineJobDefinition,
  MachineJobInput,
  RunJobDefinition,
  ThreadJobDefinition,
} from './job/define-job.js';
export type { ChildResult, JobContext, SpawnOptions } from './job/job-context.js';
export { jobStatuses, isTerminal, zeroCounts } from './job/job-status.js';
export type { JobStatus, TerminalStatus } from './job/job-status.js';
export type { BackoffPolicy, RetryPolicy } from './job/retry-policy.js';
export type { FairShareOptions, FlowOptions, RateLimitOptions } from './job/flow-options.js';
export {
  errorCodes,
  defaultCancelError,
  deserializeError,
  InputError,
  isScalableApiError,
  JobError,
  NonRetryableError,
  OverloadError,
  RateLimitedError,
  ScalableApiError,
  serializeError,
  SystemStateError,
} from './errors.js';
export type { ErrorCode, SerializedError } from './errors.js';
export { isSettledEvent } from './events.js';
export type { JobEvent, JobEventOf, JobEventType, SettledJobEvent } from './events.js';
export { systemClock } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export type { AttemptInstrument, Instrumentation } from './instrumentation.js';
export type { BlobPutOptions, BlobRef, BlobStore } from './blobs/blob-store.js';
export { blobIdPattern } from './blobs/blob-id.js';
export { createFsBlobStore, type FsBlobStoreOptions } from './blobs/fs-blob-store.js';
export { releaseBlobsOnDrop, type ReleaseBlobsOptions } from './blobs/release-blobs-on-drop.js';
export { silentLogger } from './logger.js';
export type { Logger } from './logger.js';
export { createMemoryStore } from './store/memory-store.js';
export type { MemoryStore, MemoryStoreOptions } from './store/memory-store.js';
export { maxListLimit } from './store/job-store.js';
export { flowKeysExamined, gateState, maxFlowStatsNames, maxTopKeys, topKeyCount, topKeys } from './store/flow-stats.js';
export type { FlowGateState, FlowKeyStats, FlowNameStats, FlowStatsQuery, RawGate } from './store/flow-stats.js';
export type { FlowViewOptions, JobTypeFlow } from './system/flow-view.js';
export { maxSchedules } from './store/schedule-store.js';
export type {
  PauseStore,
  ScheduleDefinition,
  ScheduleEvery,
  ScheduleFire,
  ScheduleFireOutcome,
  SchedulePolicy,
  ScheduleQuery,
  ScheduleRecord,
  ScheduleStore,
  ScheduleUpsertOutcome,
} from './store/schedule-store.js';
export { scheduleFingerprint, scheduleTickKey } from './store/schedule-store.js';
export type { ScheduleInfo, ScheduleOptions } from './schedule/schedule-control.js';
export { nextTick } from './schedule/schedule-timing.js';
export { deliveryJobId, webhookJobName } from './webhook/webhook-delivery.js';
export type { WebhookDelivery } from './webhook/webhook-delivery.js';
export type { WebhookOptions } from './webhook/webhook-options.js';
export type { WebhookPayload, WebhookReceipt } from './webhook/webhook-job.js';
export type {
  CancelOutcome,
  ClaimedJob,
  ClaimRequest,
  ClaimResult,
  FlowControl,
  PushBack,
  EnqueueOptions,
  EnqueueOutcome,
  JobRecord,
  JobPlacement,
  JobStore,
  LeaseRef,
  ListPage,
  ListQuery,
  NewJob,
  OnChildFailure,
  RenewOutcome,
  Settlement,
  SettleOutcome,
  StoreCounts,
  StoreListener,
  StoreSignal,
} from './store/job-store.js';
/** What `createJobSystem({ inspect })` passes to an inspector: xstate's inspection events. */
export type { InspectionEvent } from 'xstate';
