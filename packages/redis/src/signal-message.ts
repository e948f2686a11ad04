import type { JobEvent, SerializedError, StoreSignal } from '@scalable-api/core';

/**
 * Reads one message of the signals channel. The functions publish a JSON array of job events
 * (bare: only they carry a `seq`) and other signals; anything else — another program publishing
 * on the channel, a truncated message, an item without the fields a listener reads — is skipped
 * item by item, never thrown: this runs inside an ioredis event handler, where a throw would be
 * an uncaught exception.
 */
export function parseSignalMessage(message: string): StoreSignal[] {
  let items: unknown;
  try {
    items = JSON.parse(message);
  } catch {
    return [];
  }
  if (!Array.isArray(items)) return [];
  const out: StoreSignal[] = [];
  for (const item of items) {
    const signal = toSignal(item);
    if (signal) out.push(signal);
  }
  return out;
}

function toSignal(item: unknown): StoreSignal | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const o = item as Record<string, unknown>;
  if (typeof o.type !== 'string') return undefined;
  if ('seq' in o) return isJobEvent(o) ? { type: 'job.event', event: o as unknown as JobEvent } : undefined;
  switch (o.type) {
    case 'work.available':
      return { type: 'work.available' };
    case 'job.cancel.requested':
      if (typeof o.id !== 'string' || typeof o.owner !== 'string' || !isError(o.reason)) return undefined;
      return { type: 'job.cancel.requested', id: o.id, owner: o.owner, reason: o.reason };
    case 'job.dropped':
      if (typeof o.id !== 'string' || (o.meta !== undefined && !isStringRecord(o.meta))) return undefined;
      return { type: 'job.dropped', id: o.id, meta: o.meta };
    default:
      return undefined;
  }
}

function isJobEvent(o: Record<string, unknown>): boolean {
  return (
    (o.type as string).startsWith('job.') &&
    typeof o.status === 'string' &&
    typeof o.id === 'string' &&
    typeof o.name === 'string' &&
    typeof o.rootId === 'string' &&
    (o.parentId === undefined || typeof o.parentId === 'string') &&
    Number.isInteger(o.seq) &&
    (o.seq as number) > 0 &&
    typeof o.at === 'number'
  );
}

function isError(value: unknown): value is SerializedError {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');
}
