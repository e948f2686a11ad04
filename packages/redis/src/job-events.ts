import type { JobEvent } from '@scalable-api/core';
import { createdAtOf } from './job-birth.js';
import { jobEvent } from './signal-lines.js';

const ENDED: Record<string, string> = { completed: 'c', failed: 'f', cancelled: 'x' };

/**
 * A job's events from its hash and the hash of its stored events (seq → JSON). A job without
 * `es` has only implied ones, rebuilt from the record: queued at its creation, started at its
 * first start, ended at its finish with its output or error (see lua/events.lua).
 */
export function jobEventsFromHash(id: string, hash: Record<string, string>, stored: Record<string, string>, afterSeq: number): JobEvent[] {
  if (!hash.s) return [];
  if (!hash.es) {
    const { s, n = '', pa = '', r = '', sa, fa } = hash;
    // Created at: in the birth (job-birth.ts), or a field of its own in a job created before births.
    const ca = hash.b ? createdAtOf(hash.b) : Number(hash.ca);
    const out: JobEvent[] = [];
    if (s !== 'queued' && s !== 'running' && !ENDED[s]) return out;
    out.push(jobEvent('q', id, 1, ca, n, pa, r, '', '', '')!);
    if (s !== 'queued') out.push(jobEvent('s', id, 2, Number(sa), n, pa, r, '1', '', '')!);
    if (ENDED[s]) out.push(jobEvent(ENDED[s], id, 3, Number(fa), n, pa, r, s === 'completed' ? (hash.o ?? '') : (hash.e ?? ''), '', '')!);
    return out.filter((e) => e.seq > afterSeq);
  }
  const out: JobEvent[] = [];
  for (const [seq, text] of Object.entries(stored)) if (Number(seq) > afterSeq) out.push(JSON.parse(text) as JobEvent);
  return out.sort((a, b) => a.seq - b.seq);
}
