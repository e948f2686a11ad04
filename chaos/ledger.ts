import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LedgerEntry {
  id: string;
  attempt: number;
  node: string;
  at: number;
}

/** Every side effect the nodes wrote, grouped by job id. */
export function readLedger(dir: string): Map<string, LedgerEntry[]> {
  const byJob = new Map<string, LedgerEntry[]>();
  if (!existsSync(dir)) return byJob;
  for (const file of readdirSync(dir)) {
    if (!file.endsWith('.ledger')) continue;
    for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
      const [id, attempt, node, at] = line.split(' ');
      // A line cut short by a kill -9 mid-write has no timestamp: it is not a finished side effect.
      if (!id || !at) continue;
      const entry = { id, attempt: Number(attempt), node: node!, at: Number(at) };
      const list = byJob.get(id);
      if (list) list.push(entry);
      else byJob.set(id, [entry]);
    }
  }
  return byJob;
}
