import type { FlowControl } from './job-store.js';

/**
 * What `JobStore.flowStats` is asked: the flow control of some job names as the store holds it
 * (docs/flow-control.md, "Seeing it"). An inspection read, bounded like every other: at most
 * `maxFlowStatsNames` names per call, and per name at most `flowKeysExamined` flow keys looked
 * at (the first ones in turn order), of which the `topKeys` with the most queued are reported.
 */
export interface FlowStatsQuery {
  names: readonly string[];
  /** Each name's flow control, as claims pass it (`ClaimRequest.flow`): a rate limit's bucket is read with it. */
  flow?: ReadonlyMap<string, FlowControl> | undefined;
  /** Flow keys reported per name, most queued first. Default 10, at most `maxTopKeys`. */
  topKeys?: number | undefined;
}

/** The most names one `flowStats` call reports on. */
export const maxFlowStatsNames = 100;
/** The most flow keys one `flowStats` call reports per name. */
export const maxTopKeys = 100;
/** Flow keys looked at per name (in turn order): a name with more is reported `partial`. */
export const flowKeysExamined = 200;

/** A gate (a name's, or one flow key's) as it stands: what holds it back now, if anything. */
export interface FlowGateState {
  /** When the gate next lets a job go, if that is later than now: a rate limit's bucket is empty or a push-back holds. */
  heldUntil?: number;
  /** The end of a push-back (`ctx.rateLimited`), if one holds now. */
  pushBackUntil?: number;
  /** Jobs the rate limit's bucket would let start now (0 to `max`), for a gate with a rate limit. */
  tokens?: number;
}

export interface FlowKeyStats extends FlowGateState {
  key: string;
  /** The key's queue entries: its ready jobs (a cancelled job's entry stays until a claim skips it). */
  queued: number;
  /** Jobs of the key running now, for a name with a per-key concurrency limit (the only ones the store counts). */
  running?: number;
}

/** One job name's flow control as the store holds it; the gate fields are the whole name's. */
export interface FlowNameStats extends FlowGateState {
  name: string;
  /** Queue entries of the name: its plain queue and the keys examined. */
  queued: number;
  /** Flow keys taking turns (keys with jobs queued, or just emptied and not yet passed over). */
  keys: number;
  /** More keys than `flowKeysExamined`: `queued` and `top` count the first ones in turn order only. */
  partial: boolean;
  /** The examined keys with the most queued, at most `topKeys`; ties in turn order. */
  top: FlowKeyStats[];
}

/** The raw state of a gate, as both stores keep it (flow-gates.ts, flow.lua): GCRA's theoretical arrival time and a push-back's end. */
export interface RawGate {
  tat: number;
  until: number;
}

/**
 * A gate's state at `now` under `rate` (the rate limit that applies to it, if any). The same
 * arithmetic as a claim's (`FlowGates.readyAt`): the next job may go once `tat + perMs / max -
 * perMs <= now`, whole ms, up.
 */
export function gateState(gate: RawGate | undefined, rate: FlowControl['rate'] | undefined, now: number): FlowGateState {
  const out: FlowGateState = {};
  const tat = gate?.tat ?? 0;
  const until = gate?.until ?? 0;
  let at = until;
  if (until > now) out.pushBackUntil = until;
  if (rate) {
    const interval = rate.perMs / rate.max;
    at = Math.max(at, Math.ceil(tat + interval - rate.perMs));
    // Starts the bucket allows now: each moves tat on by one interval, up to perMs ahead of now.
    const room = (rate.perMs - Math.max(0, tat - now)) / interval;
    out.tokens = Math.min(rate.max, Math.max(0, Math.floor(room + 1e-9)));
  }
  if (at > now) out.heldUntil = at;
  return out;
}

/** The keys of one name with the most queued, at most `n`; ties keep their order (turn order). Keys left with nothing queued or running are not shown. */
export function topKeys(keys: readonly FlowKeyStats[], n: number): FlowKeyStats[] {
  return keys
    .map((key, i) => ({ key, i }))
    .filter(({ key }) => key.queued > 0 || (key.running ?? 0) > 0)
    .sort((a, b) => b.key.queued - a.key.queued || a.i - b.i)
    .slice(0, n)
    .map(({ key }) => key);
}

/** The query's `topKeys`, bounded. */
export function topKeyCount(query: FlowStatsQuery): number {
  const n = query.topKeys ?? 10;
  return Math.max(0, Math.min(maxTopKeys, Math.floor(n)));
}
