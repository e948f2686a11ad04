import type { JobEvent, JobEventOf, SerializedError, StoreSignal } from '@scalable-api/core';
import { decodeJson } from './json-codec.js';

/**
 * The signals channel carries compact lines, not JSON objects: building and publishing an
 * event's JSON was a sizeable part of Redis' time per job, and every node receives every
 * message. A message is the time of the call that published it, then one line per signal:
 *
 *   w                                     work available
 *   e <code> <id> <seq> <name> <parent> <root> <a> <b> <c>   a job event (lua/events.lua)
 *   G <code> <seq> <name> then <id> <a> per job   events of jobs without a parent, each its
 *                                         own root, b and c empty: queued, started (attempt 1),
 *                                         completed (the output), one line per code and name
 *                                         in a call (a third of the bytes, and of the Lua work)
 *   k <id> <owner> <reason JSON>          a cancel requested for a running job
 *   x <id> <meta JSON>                    a job left retention
 *   X <id> <id> …                         jobs without meta left retention
 *
 * fields separated by tabs ('' for absent). Anything else on the channel — another program
 * publishing there, a truncated message — is skipped line by line, never thrown: this runs in an
 * ioredis event handler, where a throw would be an uncaught exception.
 */
export function parseSignalLines(message: string): StoreSignal[] {
  const lines = message.split('\n');
  const at = Number(lines[0]);
  if (lines[0] === '' || !Number.isFinite(at)) return [];
  const out: StoreSignal[] = [];
  for (let i = 1; i < lines.length; i++) {
    try {
      const fields = lines[i]!.split('\t');
      if (fields[0] === 'G') {
        groupSignals(fields, at, out);
        continue;
      }
      if (fields[0] === 'X') {
        for (let j = 1; j < fields.length; j++) if (fields[j]) out.push({ type: 'job.dropped', id: fields[j]!, meta: undefined });
        continue;
      }
      const signal = toSignal(fields, at);
      if (signal) out.push(signal);
    } catch {
      // a field that is not the JSON it should be: not ours
    }
  }
  return out;
}

function groupSignals(f: string[], at: number, out: StoreSignal[]): void {
  const seq = Number(f[2]);
  if (f.length < 6 || f.length % 2 !== 0 || !f[3] || !Number.isInteger(seq) || seq < 1) return;
  for (let i = 4; i < f.length; i += 2) {
    if (!f[i]) continue;
    try {
      const event = jobEvent(f[1]!, f[i]!, seq, at, f[3], '', '', f[i + 1]!, '', '');
      if (event) out.push({ type: 'job.event', event });
    } catch {
      // this job's field is not the JSON it should be: the others of the line still count
    }
  }
}

function toSignal(f: string[], at: number): StoreSignal | undefined {
  switch (f[0]) {
    case 'w':
      return { type: 'work.available' };
    case 'e': {
      const seq = Number(f[3]);
      if (f.length !== 10 || !f[2] || !f[4] || !Number.isInteger(seq) || seq < 1) return undefined;
      const event = jobEvent(f[1]!, f[2], seq, at, f[4], f[5]!, f[6]!, f[7]!, f[8]!, f[9]!);
      return event && { type: 'job.event', event };
    }
    case 'k': {
      if (f.length !== 4 || !f[1] || !f[2]) return undefined;
      const reason = JSON.parse(f[3]!) as SerializedError;
      if (typeof reason?.code !== 'string' || typeof reason.message !== 'string') return undefined;
      return { type: 'job.cancel.requested', id: f[1], owner: f[2], reason };
    }
    case 'x': {
      if (f.length !== 3 || !f[1]) return undefined;
      const meta = decodeJson(f[2]) as Record<string, string> | undefined;
      if (meta !== undefined && (typeof meta !== 'object' || meta === null)) return undefined;
      return { type: 'job.dropped', id: f[1], meta };
    }
    default:
      return undefined;
  }
}

/**
 * A job event from its code and fields (see the header of lua/events.lua), with its keys in the
 * order the Lua writes stored events, so a resumed reader gets the same JSON as a live one.
 * Also rebuilds the implied events of a record (job-events.ts).
 */
export function jobEvent(
  code: string,
  id: string,
  seq: number,
  at: number,
  name: string,
  parent: string,
  root: string,
  a: string,
  b: string,
  c: string,
): JobEvent | undefined {
  // Every event written out field by field: `{ type, status, ...tail }` (literal fields, then a
  // spread) takes V8's slow path for object literals, and this runs for three events of every
  // job on every node. The key order is the one above either way.
  const parentId = parent || undefined;
  const rootId = root || id;
  switch (code) {
    case 'q':
      return { type: 'job.queued', status: 'queued', id, name, seq, at, parentId, rootId };
    case 'd':
      return { type: 'job.delayed', status: 'delayed', runAt: Number(a), id, name, seq, at, parentId, rootId };
    case 's':
      return { type: 'job.started', status: 'running', attempt: Number(a), id, name, seq, at, parentId, rootId };
    case 'p':
    case 'P':
      return {
        type: 'job.progress',
        status: code === 'p' ? 'running' : 'waitingChildren',
        progress: decodeJson(a),
        id,
        name,
        seq,
        at,
        parentId,
        rootId,
      };
    case 'w':
      return { type: 'job.waiting', status: 'waitingChildren', id, name, seq, at, parentId, rootId };
    case 'u':
      return { type: 'job.resumed', status: 'running', attempt: Number(a), id, name, seq, at, parentId, rootId };
    case 'r':
    case 'R':
      return {
        type: 'job.retrying',
        status: code === 'r' ? 'queued' : 'delayed',
        attempt: Number(a),
        runAt: Number(b),
        error: JSON.parse(c) as SerializedError,
        id,
        name,
        seq,
        at,
        parentId,
        rootId,
      };
    case 'l':
      return { type: 'job.released', status: 'queued', id, name, seq, at, parentId, rootId };
    case 'c':
      return completedEvent(a, id, name, seq, at, parentId, rootId);
    case 'f':
      return { type: 'job.failed', status: 'failed', error: JSON.parse(a) as SerializedError, id, name, seq, at, parentId, rootId };
    case 'x':
      return { type: 'job.cancelled', status: 'cancelled', error: JSON.parse(a) as SerializedError, id, name, seq, at, parentId, rootId };
    default:
      return undefined;
  }
}

/**
 * Outputs at least this long are decoded on their first read instead of on arrival. A shorter one
 * is cheaper to decode than to defer (an object with a getter costs about a microsecond more to
 * build and read), and most outputs of a busy node are short.
 */
const LAZY_OUTPUT_CHARS = 256;

/**
 * A completed event whose long output is decoded on its first read, not on arrival: every node
 * gets every job's completion, and usually nothing on it reads the output (no result waiter,
 * parent or event stream for that job), so decoding each one was Node CPU per job spent for
 * nothing (issue 14). The text is what the job's record holds, so a reader gets what a read of
 * the store would give. The first read turns the getter into a plain property: a decoded value
 * kept in the getter's closure made a read twice as dear (measured). Text that is not JSON (not
 * the functions': they publish what they stored) reads as `undefined` with a warning rather than
 * throwing inside a reader, such as a parent's actor.
 */
function completedEvent(
  text: string,
  id: string,
  name: string,
  seq: number,
  at: number,
  parentId: string | undefined,
  rootId: string,
): JobEventOf<'job.completed'> {
  if (text.length < LAZY_OUTPUT_CHARS)
    return { type: 'job.completed', status: 'completed', output: decodeJson(text), id, name, seq, at, parentId, rootId };
  return {
    type: 'job.completed',
    status: 'completed',
    get output(): unknown {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        process.emitWarning(`job ${id}: the output of its completed signal is not JSON; read as undefined`);
      }
      Object.defineProperty(this, 'output', { value, writable: true, enumerable: true, configurable: true });
      return value;
    },
    id,
    name,
    seq,
    at,
    parentId,
    rootId,
  };
}
