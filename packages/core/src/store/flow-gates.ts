import type { FlowControl, PushBack } from './job-store.js';

/** A rate limit's state: the token bucket as a theoretical arrival time (GCRA), and a push-back. */
interface Gate {
  tat: number;
  until: number;
}

/**
 * The memory store's rate limits and push-backs, per job name and per flow key. A limit of `max`
 * per `perMs` is a token bucket of `max` that refills one token every `perMs / max`, kept as one
 * number (GCRA's theoretical arrival time): a claim may take a job while `tat + perMs / max - now
 * <= perMs`, and each job taken moves `tat` on by `perMs / max`. A push-back (`ctx.rateLimited`)
 * holds the gate shut until its time. The Redis store keeps the same two numbers (flow.lua).
 */
export class FlowGates {
  private readonly gates = new Map<string, Gate>();

  get size(): number {
    return this.gates.size;
  }

  /** When the gate of `name` (with `key`: of that key) lets its next job go; `<= now` means now. */
  readyAt(name: string, key: string | undefined, rate: FlowControl['rate'], now: number): number {
    const gate = this.gates.get(gateId(name, key));
    if (!gate) return now;
    let at = gate.until;
    // Whole ms, up: a claim's clock and the times it reports are whole ms.
    if (rate) at = Math.max(at, Math.ceil(gate.tat + rate.perMs / rate.max - rate.perMs));
    return at;
  }

  /** One job goes through the gate. */
  take(name: string, key: string | undefined, rate: NonNullable<FlowControl['rate']>, now: number): void {
    const id = gateId(name, key);
    let gate = this.gates.get(id);
    if (!gate) this.gates.set(id, (gate = { tat: now, until: 0 }));
    gate.tat = Math.max(gate.tat, now) + rate.perMs / rate.max;
  }

  /** The raw gate of `name` (with `key`: of that key), for inspection; undefined when none is kept. */
  peek(name: string, key: string | undefined): Readonly<Gate> | undefined {
    return this.gates.get(gateId(name, key));
  }

  pushBack(name: string, pushBack: PushBack): void {
    const id = gateId(name, pushBack.key);
    const gate = this.gates.get(id);
    if (gate) gate.until = Math.max(gate.until, pushBack.until);
    else this.gates.set(id, { tat: 0, until: pushBack.until });
  }

  /** Drops gates that no longer hold anything back (a bucket full again, a push-back past), so keys do not pile up. */
  sweep(now: number): void {
    for (const [id, gate] of this.gates) if (gate.tat <= now && gate.until <= now) this.gates.delete(id);
  }
}

/** The whole name's gate, or one key's (the key '' for unkeyed jobs of a name limited per key). */
function gateId(name: string, key: string | undefined): string {
  return key === undefined ? name : `${name}\0${key}`;
}
