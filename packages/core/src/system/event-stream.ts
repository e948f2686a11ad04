import { JobError } from '../errors.js';
import type { JobEvent } from '../events.js';
import { Deque } from '../store/deque.js';

/**
 * One reader of `system.events()`. Its buffer is bounded: a reader that falls `bufferSize`
 * events behind is cut off with `EVENTS_OVERFLOW` instead of growing the process without limit.
 */
export class EventStream implements AsyncIterableIterator<JobEvent> {
  private buffer = new Deque<JobEvent>();
  private waiting: ((result: IteratorResult<JobEvent>) => void) | undefined;
  private failure: JobError | undefined;
  private ended = false;

  constructor(
    private readonly bufferSize: number,
    readonly accepts: (event: JobEvent) => boolean,
    private readonly onClose: (stream: EventStream) => void,
  ) {}

  push(event: JobEvent): void {
    if (this.ended || this.failure) return;
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
