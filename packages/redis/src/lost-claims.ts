import { ReplyError } from 'ioredis';

/** A claim as sent: its owner, its `now` and the lease expiry it gives the jobs it hands out. */
export interface SentClaim {
  owner: string;
  at: number;
  la: number;
  key: string;
}

/** Lost claims remembered at most; past it the oldest is forgotten (its jobs then wait a lease). */
const MAX_LOST = 32;

/**
 * Claims whose answer never came back (a command timeout, a dropped connection) may still have
 * run in Redis — late, even long after — and leased jobs to this node that it will never run.
 * Each later claim of the same owner names them until their leases would have run out anyway,
 * and the claim function hands back what they leased that is untouched since (`release_lost`,
 * lua/late.lua): those jobs run at once instead of after a lease, and no lapse is counted.
 *
 * A lost claim is known by its `now` and lease expiry. Another claim sent in the same
 * millisecond with the same lease has the same two; the jobs it brought back are this node's,
 * so they are sent along as ones to keep, and a lost claim is not named while a claim with its
 * stamp is still in flight (its jobs are not known yet).
 */
export class LostClaims {
  private readonly inFlight = new Map<string, number>();
  private readonly lost = new Map<string, SentClaim>();
  private readonly kept = new Map<string, Set<string>>();

  /** Registers a claim about to be sent; `args` name this owner's lost claims for the claim function. */
  send(owner: string, at: number, leaseMs: number): { claim: SentClaim; args: string[] } {
    this.prune(at);
    const la = at + leaseMs;
    const claim: SentClaim = { owner, at, la, key: `${owner}\t${at}\t${la}` };
    this.inFlight.set(claim.key, (this.inFlight.get(claim.key) ?? 0) + 1);
    const named = [...this.lost.values()].filter((c) => c.owner === owner && !this.inFlight.has(c.key));
    const args = [String(named.length)];
    for (const c of named) {
      const keep = [...(this.kept.get(c.key) ?? [])];
      args.push(String(c.at), String(c.la), String(keep.length), ...keep);
    }
    return { claim, args };
  }

  /** The claim's answer arrived with these jobs. */
  answered(claim: SentClaim, ids: readonly string[]): void {
    this.done(claim);
    if (ids.length === 0 || !(this.lost.has(claim.key) || this.inFlight.has(claim.key))) return;
    let keep = this.kept.get(claim.key);
    if (!keep) this.kept.set(claim.key, (keep = new Set()));
    for (const id of ids) keep.add(id);
  }

  /**
   * The claim failed. Unless Redis refused it (an error reply: nothing ran), it may have run; so
   * may an earlier copy of one refused as late (a reconnecting client sends unanswered commands
   * again, and the first copy may have run before the connection dropped).
   */
  failed(claim: SentClaim, cause: unknown): void {
    this.done(claim);
    if (cause instanceof ReplyError && !(cause as Error).message.startsWith('LATE')) return;
    this.lost.set(claim.key, claim);
    if (this.lost.size > MAX_LOST) this.lost.delete(this.lost.keys().next().value!);
  }

  /** Lost claims remembered (for tests and logs). */
  get size(): number {
    return this.lost.size;
  }

  private done(claim: SentClaim): void {
    const left = (this.inFlight.get(claim.key) ?? 1) - 1;
    if (left > 0) this.inFlight.set(claim.key, left);
    else this.inFlight.delete(claim.key);
  }

  /** Past its lease expiry, what a lost claim leased has lapsed and is taken back like any lapse. */
  private prune(now: number): void {
    for (const [key, claim] of this.lost) if (claim.la <= now) this.lost.delete(key);
    for (const key of this.kept.keys()) if (!this.lost.has(key) && !this.inFlight.has(key)) this.kept.delete(key);
  }
}
