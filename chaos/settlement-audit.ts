import { isSettledEvent, type JobStore } from '@scalable-api/core';

export interface SettlementAudit {
  /** Jobs whose event log holds more than one settled event (`job.completed`/`failed`/`cancelled`). */
  twice: string[];
  /** Jobs whose event log holds none although the scenario expects them settled. */
  none: string[];
}

/**
 * Reads every job's event log: each must hold exactly one settled event. A double settle — a
 * stale attempt that overwrote a newer one, a cascade that reached a job twice — shows here even
 * when the record's final status looks right.
 */
export async function auditSettlements(store: JobStore, ids: readonly string[]): Promise<SettlementAudit> {
  const twice: string[] = [];
  const none: string[] = [];
  for (let i = 0; i < ids.length; i += 200) {
    const slice = ids.slice(i, i + 200);
    const logs = await Promise.all(slice.map((id) => store.events(id, 0)));
    logs.forEach((events, j) => {
      const settled = events.filter(isSettledEvent).length;
      if (settled > 1) twice.push(slice[j]!);
      if (settled === 0) none.push(slice[j]!);
    });
  }
  return { twice, none };
}

/**
 * A job's event log in one line, in ms from `origin` (default its first event):
 * `queued +0, started#1 +12, …`. For a violation's report: how a job got where it ended.
 */
export async function history(store: JobStore, id: string, origin?: number): Promise<string> {
  const events = await store.events(id, 0).catch(() => []);
  const first = origin ?? events[0]?.at ?? 0;
  return events
    .map((e) => {
      const attempt = 'attempt' in e ? `#${e.attempt}` : '';
      const error = 'error' in e && e.error ? ` ${e.error.code}` : '';
      return `${e.type.replace(/^job\./, '')}${attempt}${error} +${e.at - first}`;
    })
    .join(', ');
}
