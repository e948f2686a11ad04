import type { JobEvent } from '../events.js';
import { impliedEvents, isImplied } from './implied-events.js';
import type { Rec } from './memory-record.js';

/**
 * Each job's events, kept on its record: the newest `perJob` of them, most of them implied by
 * the record rather than stored (implied-events.ts says why).
 */
export class MemoryEventLog {
  constructor(readonly perJob: number) {}

  append(rec: Rec, event: JobEvent): void {
    // An empty log means every event so far is implied (`event.seq - 1` of them): the first one
    // that is not writes them out, and a log is never emptied again. So no field counts them.
    if (rec.log.length === 0) {
      if (event.seq <= this.perJob && isImplied(rec, event)) return;
      // The record no longer explains the job's story on its own: write the implied events out.
      if (event.seq > 1) rec.log = [...impliedEvents(rec, event.seq - 1)];
    }
    // Arrays made to size: `push` onto a full array reserves about 1.5x + 16 slots, which for a
    // job's three or four events is two thirds empty space on every record kept for retention.
    let log = rec.log;
    if (log.length >= this.perJob) log = log.slice(log.length - this.perJob + 1);
    if (log.length === 0) rec.log = [event];
    else if (log.length === 1) rec.log = [log[0]!, event];
    else if (log.length === 2) rec.log = [log[0]!, log[1]!, event];
    else {
      log.push(event);
      rec.log = log;
    }
  }

  /** The job's events after `afterSeq` (0 for all), oldest first. */
  read(rec: Rec, afterSeq: number): JobEvent[] {
    const log = rec.log.length === 0 && rec.eventSeq > 0 ? impliedEvents(rec, rec.eventSeq) : rec.log;
    return log.filter((e) => e.seq > afterSeq);
  }
}
