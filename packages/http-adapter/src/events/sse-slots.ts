import type { ServerResponse } from 'node:http';
import { HttpProblemError } from '../problem.js';

/**
 * The open event streams of this node (the API's and the dashboard's), bounded twice: node-wide,
 * and per client (its tenant, or its IP without tenants) so that one client cannot take every
 * slot. A slot is held until the socket closes, not until the stream ends: an ended stream whose
 * data a client has not read still holds its socket and its buffered bytes.
 */
export class SseSlots {
  private readonly open = new Set<ServerResponse>();
  private readonly perClient = new Map<string, number>();

  constructor(
    private readonly maxConnections: number,
    private readonly maxPerClient: number,
  ) {}

  /** Takes a slot for `res` or throws 503 NOT_READY (node full) / 429 RATE_LIMITED (client full). */
  take(client: string, res: ServerResponse): void {
    if (this.open.size >= this.maxConnections) throw new HttpProblemError('NOT_READY', 'Too many open event streams on this node.');
    const held = this.perClient.get(client) ?? 0;
    if (held >= this.maxPerClient) throw new HttpProblemError('RATE_LIMITED', `This client holds ${held} open event streams, its bound.`);
    this.open.add(res);
    this.perClient.set(client, held + 1);
    res.once('close', () => {
      this.open.delete(res);
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left <= 0) this.perClient.delete(client);
      else this.perClient.set(client, left);
    });
  }

  get size(): number {
    return this.open.size;
  }

  /** Every open stream: the plugin ends them on close (readers resume elsewhere with Last-Event-ID). */
  [Symbol.iterator](): IterableIterator<ServerResponse> {
    return this.open.values();
  }
}
