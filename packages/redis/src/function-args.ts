import type { ClaimRequest, NewJob } from '@scalable-api/core';

/** `ClaimRequest.flow` as the claim function's trailing arguments (claim.lua's header). */
export function flowArgs(flow: ClaimRequest['flow']): string[] {
  if (flow === undefined || flow.size === 0) return [];
  const out = [String(flow.size)];
  for (const [name, control] of flow) {
    const rate = control.rate;
    const weights = Object.entries(control.weights ?? {});
    out.push(
      name,
      rate ? String(rate.max) : '',
      rate ? String(rate.perMs) : '',
      rate?.perKey ? '1' : '0',
      control.concurrencyPerKey === undefined ? '' : String(control.concurrencyPerKey),
      String(weights.length),
    );
    for (const [key, weight] of weights) out.push(key, String(weight));
  }
  return out;
}

/** A job the enqueue function takes in its short form (lua/enqueue.lua): nothing but id, name, input and priority. */
export function isPlain(job: NewJob): boolean {
  return (
    job.runAt === undefined &&
    job.idempotencyKey === undefined &&
    job.fingerprint === undefined &&
    job.parentId === undefined &&
    (job.rootId === undefined || job.rootId === job.id) &&
    job.childKey === undefined &&
    (job.onFailure === undefined || job.onFailure === 'fail-parent') &&
    !job.awaitChildren &&
    job.meta === undefined &&
    job.parentToken === undefined &&
    job.key === undefined &&
    job.webhook === undefined
  );
}
