import { JobError } from '../errors.js';
import { isSettledEvent, type JobEvent } from '../events.js';
import { Deque } from '../store/deque.js';

/**
 * One reader of `system.events()`. Its buffer is bounded: a reader that falls `bufferSize`
 * events behind is cut off with `EVENTS_OVERFLOW` instead of growing the process without limit.
 *
 * A stream of one job (`jobId`) remembers the last `seq` of that job it passed on, so the
 * reconciler can ask the store for what came after (`store.events(jobId, lastSeq)`) when a
 * signal was lost, and an event that arrives twice (once as a signal, once from the record)
 * is passed on once.
 */
export class EventStream implements AsyncIterableIterator<JobEvent> {
  private buffer = new Deque<JobEvent>();
  private waiting: ((result: IteratorResult<JobEvent>) => void) | undefined;
  private failure: JobError | undefined;
  private ended = false;
  /** The last `seq` of `jobId`'s own events passed on. */
  lastSeq = 0;
  /** `jobId` reached its end (a settled event passed on). */
  sawEnd = false;
  /** Whether `lastSeq` is known: a stream starts where its job is when it opens (see `startAt`). */
  baselined = false;

  constructor(
    private readonly bufferSize: number,
    readonly accepts: (event: JobEvent) => boolean,
    private readonly onClose: (stream: EventStream) => void,
    readonly jobId: string | undefined = undefined,
  ) {}

  /** The job's last event when the stream opened: it passes on what comes after. */
  startAt(seq: number): void {
    if (!this.baselined && seq > this.lastSeq) this.lastSeq = seq;
    this.baselined = true;
  }

  get open(): boolean {
    return !this.ended && !this.failure;
  }

  push(event: JobEvent): void {
    if (this.ended || this.failure) return;
    if (event.id === this.jobId) {
      if (event.seq <= this.lastSeq) return;
      this.lastSeq = event.seq;
      if (isSettledEvent(event)) this.sawEnd = true;
    }
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = undefined;
      resolve({ value: event, done: false });
      return;
    }
    if (this.buffer.length >= this.bufferSize) {
      this.failure = new JobError('EVENTS_OVERFLOW', `The reader fell ${this.bufferSize} events behind.`);
      this.onClose(this);
      return;
    }
    this.buffer.push(event);
  }

  end(): void {
    this.ended = true;
    this.onClose(this);
    if (this.waiting) {
      this.waiting({ value: undefined, done: true });
      this.waiting = undefined;
    }
  }

  next(): Promise<IteratorResult<JobEvent>> {
    const event = this.buffer.shift();
    if (event) return Promise.resolve({ value: event, done: false });
    if (this.failure) {
      const failure = this.failure;
      this.ended = true;
      return Promise.reject(failure);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<JobEvent>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<JobEvent> {
    return this;
  }
}
