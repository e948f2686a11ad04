import type { SerializedError } from '../errors.js';
import type { JobEvent } from '../events.js';

export type StoreSignal =
  | { type: 'work.available' }
  | { type: 'job.event'; event: JobEvent }
  | { type: 'job.cancel.requested'; id: string; owner: string; reason: SerializedError }
  /** A job (with its subtree) left retention; whatever it referenced (blobs) can go. */
  | { type: 'job.dropped'; id: string; meta: Record<string, string> | undefined }
  /** Signals may have been lost (the subscriber reconnected): re-derive from the records. */
  | { type: 'signals.resumed' };

export type StoreListener = (signal: StoreSignal) => void;
