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
