import type { SerializedError } from '../errors.js';

// What a claim asks and hands out, and the leases it hands them out under (`JobStore.claim`, `JobStore.renew`).

export interface ClaimRequest {
  /** Identifies the claiming node; leases and cancel signals name it. */
  owner: string;
  max: number;
  leaseMs: number;
  /** Job names this node can run; unset means all. */
  names?: readonly string[] | undefined;
  /** For job names with a concurrency limit: how many more this node may start now. Paused job types are never handed out. */
  capacity?: ReadonlyMap<string, number> | undefined;
  /** Flow control held by the store across nodes, per job name (rate limits, fair-share weights, per-key concurrency). */
  flow?: ReadonlyMap<string, FlowControl> | undefined;
}

/**
 * What the store enforces at claim time for one job name, whichever node claims. Every node
 * passes the same, from the job's definition (`defineJob({ rateLimit, fairShare })`).
 */
export interface FlowControl {
  /**
   * At most `max` claims per `perMs` (a token bucket of `max` that refills at `max / perMs`),
   * for the whole name, or per flow key when `perKey` is set. A job over the limit stays queued
   * (no attempt counted) and the claim's `nextRunAt` says when the limit lets the next one go.
   */
  rate?: { max: number; perMs: number; perKey: boolean } | undefined;
  /** Jobs one key takes per turn (default 1). */
  weights?: Readonly<Record<string, number>> | undefined;
  /** At most this many held jobs (running or waiting for children) per flow key, across all nodes. */
  concurrencyPerKey?: number | undefined;
}

export interface ClaimResult {
  jobs: ClaimedJob[];
  /** When the earliest delayed job falls due, so the dispatcher can wake for it. */
  nextRunAt: number | undefined;
}

export interface LeaseRef {
  id: string;
  /** The fencing token of this attempt: it grows with every claim of the job. */
  token: number;
}

export interface ClaimedJob extends LeaseRef {
  name: string;
  input: unknown;
  attempt: number;
  priority: number;
  parentId: string | undefined;
  rootId: string;
  createdAt: number;
  meta: Record<string, string> | undefined;
}

/** A renewal's answer: still held (perhaps with a cancel to act on), or lost to expiry or settlement. */
export type RenewOutcome = { held: true; cancel?: SerializedError | undefined } | { held: false };
