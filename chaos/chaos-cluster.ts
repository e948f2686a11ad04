import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import type { JobRecord } from '@scalable-api/core';
import { Redis } from 'ioredis';
import { createRedisStore, type RedisStore } from '@scalable-api/redis';
import { readLedger } from './ledger.js';
import { sleep, type Proc, type ProcessGroup } from './process-group.js';

const nodeFile = fileURLToPath(new URL('./chaos-node.ts', import.meta.url));

export interface ChaosNode extends Proc {
  id: string;
  /** Jobs this process started (any attempt), from its `START` lines. */
  started(): string[];
}

export interface Tally {
  accepted: number;
  completed: number;
  /** Accepted jobs that are gone or did not end the way the scenario expects. */
  lost: string[];
  /** Jobs whose side effect ran more than once (at-least-once made visible). */
  duplicated: number;
  /** Final status (or error code) of each accepted job. */
  outcomes: Map<string, string>;
}

/**
 * A cluster of chaos nodes (real processes) over one Redis prefix, plus the harness's own store
 * client, which submits (an `ok` outcome is an acknowledged job) and reads the records back.
 */
export class ChaosCluster {
  readonly prefix = `chaos-${randomUUID().slice(0, 8)}`;
  readonly ledgerDir = mkdtempSync(join(tmpdir(), 'sa-chaos-ledger-'));
  readonly store: RedisStore;
  readonly nodes: ChaosNode[] = [];
  private seq = 0;

  constructor(
    private readonly group: ProcessGroup,
    readonly redisUrl: string,
    private readonly defaults: Record<string, string> = {},
  ) {
    // The store's own client gives up on a command after 3 reconnection attempts, so while Redis
    // is down a submit fails (is not acknowledged) instead of waiting for it to come back.
    this.store = createRedisStore({ url: redisUrl, prefix: this.prefix, sweepMs: 0 });
  }

  async startNode(id: string, env: Record<string, string> = {}): Promise<ChaosNode> {
    const proc = this.group.node(id, nodeFile, {
      NODE_ID: id,
      REDIS_URL: this.redisUrl,
      REDIS_PREFIX: this.prefix,
      LEDGER_DIR: this.ledgerDir,
      ...this.defaults,
      ...env,
    });
    const node: ChaosNode = Object.assign(proc, {
      id,
      started: () => proc.lines.filter((l) => l.startsWith('START ')).map((l) => l.split(' ')[1]!),
    });
    this.nodes.push(node);
    await node.line('READY', 30_000);
    return node;
  }

  /** Enqueues jobs in one batch; returns the ids Redis acknowledged (throws if the call failed). */
  async submit(name: string, inputs: readonly unknown[]): Promise<string[]> {
    const jobs = inputs.map((input) => ({ id: `${this.prefix}-${name}-${this.seq++}`, name, input, priority: 0 }));
    const outcomes = await this.store.enqueue(jobs, { limit: 1_000_000 });
    return outcomes.flatMap((o, i) => (o.ok ? [jobs[i]!.id] : []));
  }

  async records(ids: readonly string[]): Promise<(JobRecord | undefined)[]> {
    const out: (JobRecord | undefined)[] = [];
    for (let i = 0; i < ids.length; i += 200) out.push(...(await Promise.all(ids.slice(i, i + 200).map((id) => this.store.get(id)))));
    return out;
  }

  /** Waits (bounded) until every job is completed, failed or cancelled, or gone. */
  async settled(ids: readonly string[], timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let pending = [...ids];
    while (pending.length > 0) {
      const records = await this.records(pending);
      pending = pending.filter((_, i) => {
        const r = records[i];
        return r !== undefined && !['completed', 'failed', 'cancelled'].includes(r.status);
      });
      if (pending.length === 0) return true;
      if (Date.now() > deadline) return false;
      await sleep(100);
    }
    return true;
  }

  /** Counts what became of accepted jobs. `expected(id)` is the outcome that job must reach (default `completed`). */
  async tally(ids: readonly string[], expected: (id: string) => string = () => 'completed'): Promise<Tally> {
    const records = await this.records(ids);
    const ledger = readLedger(this.ledgerDir);
    const outcomes = new Map<string, string>();
    const lost: string[] = [];
    let completed = 0;
    let duplicated = 0;
    ids.forEach((id, i) => {
      const record = records[i];
      const outcome =
        record === undefined
          ? 'missing'
          : record.status === 'failed' || record.status === 'cancelled'
            ? (record.error?.code ?? record.status)
            : record.status;
      outcomes.set(id, outcome);
      if (outcome === 'completed') completed++;
      if (outcome !== expected(id)) lost.push(id);
      if ((ledger.get(id)?.length ?? 0) > 1) duplicated++;
    });
    return { accepted: ids.length, completed, lost, duplicated, outcomes };
  }

  /**
   * Once every job has settled, the store's per-status counters (which the queue bound reads)
   * must say so: nothing queued, running or waiting. Returns what is off.
   */
  async countsDrift(): Promise<string | undefined> {
    const counts = await this.store.counts();
    const open = counts.queued + counts.delayed + counts.running + counts.waitingChildren;
    return open === 0 ? undefined : `store counters still show open jobs after everything settled: ${JSON.stringify(counts)}`;
  }

  /** Nodes that reported themselves unhealthy (worker restarts past the intensity). */
  unhealthy(): string[] {
    return this.nodes.filter((n) => n.lines.includes('HEALTH unhealthy')).map((n) => n.id);
  }

  /** SIGKILLs the nodes still running (the scenario is over; how they die no longer matters). */
  async stopNodes(): Promise<void> {
    for (const node of this.nodes) {
      node.child.kill('SIGCONT');
      node.child.kill('SIGKILL');
    }
    await Promise.race([Promise.all(this.nodes.map((n) => n.exited)), sleep(5_000)]);
  }

  async close(): Promise<void> {
    await this.stopNodes();
    await this.store.close();
    // The suite may run against a shared Redis (the CI test does): leave none of its keys behind.
    const client = new Redis(this.redisUrl, { maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    try {
      let cursor = '0';
      for (let i = 0; i < 10_000; i++) {
        const [next, keys] = await client.scan(cursor, 'MATCH', `{${this.prefix}}:*`, 'COUNT', 1_000);
        if (keys.length > 0) await client.del(...keys);
        cursor = next;
        if (cursor === '0') break;
      }
    } catch {
      // a Redis that is gone (a scenario crashed it) has nothing left to clean
    } finally {
      client.disconnect();
    }
    rmSync(this.ledgerDir, { recursive: true, force: true });
  }
}
