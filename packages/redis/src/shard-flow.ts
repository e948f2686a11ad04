import type { ClaimRequest, FlowControl } from '@scalable-api/core';

type Flow = NonNullable<ClaimRequest['flow']>;

const split = new WeakMap<Flow, { shards: number; flow: Flow }>();

/**
 * Flow control over shards: each shard holds its own share. A rate limit of `max` per `perMs`
 * becomes `max / shards` per `perMs` on each shard, and a per-key concurrency limit
 * `ceil(limit / shards)`, so the shards together hold the limit without a call between them
 * (a job lives on one shard; a limit's count would otherwise need a cross-shard round trip per
 * claim). The cost: work spread unevenly over the shards runs below the limit, and a per-key
 * concurrency limit that does not divide by the shard count may be passed by up to
 * `shards * ceil(limit / shards) - limit`. Fair turns between keys hold within each shard.
 * Nodes pass the same map on every claim, so the split is made once per map.
 *
 * @example perShard(new Map([['api', { rate: { max: 50, perMs: 1_000, perKey: false } }]]), 2) // api: 25 per 1,000 ms per shard
 */
export function perShard(flow: Flow, shards: number): Flow {
  if (shards <= 1) return flow;
  const known = split.get(flow);
  if (known?.shards === shards) return known.flow;
  const out = new Map<string, FlowControl>();
  for (const [name, control] of flow) {
    const share: FlowControl = { ...control };
    if (control.rate) share.rate = { ...control.rate, max: control.rate.max / shards };
    if (control.concurrencyPerKey !== undefined) share.concurrencyPerKey = Math.ceil(control.concurrencyPerKey / shards);
    out.set(name, share);
  }
  split.set(flow, { shards, flow: out });
  return out;
}
