/** What one scenario found, over all its repetitions. */
export interface ScenarioReport {
  name: string;
  /** What was done, in a line. */
  fault: string;
  runs: number;
  accepted: number;
  completed: number;
  lost: number;
  duplicated: number;
  /** Per affected job (or per run), ms from the fault to recovery; `recoveryMeans` says to what. */
  recovery: number[];
  recoveryMeans: string;
  /** Other measured facts, one line each. */
  notes: string[];
  /** Broken guarantees. Any entry fails `npm run chaos`. */
  violations: string[];
}

export function emptyReport(name: string, fault: string, recoveryMeans: string): ScenarioReport {
  return { name, fault, runs: 0, accepted: 0, completed: 0, lost: 0, duplicated: 0, recovery: [], recoveryMeans, notes: [], violations: [] };
}

export interface RunTally {
  accepted: number;
  completed: number;
  lost: string[];
  duplicated: number;
  outcomes: Map<string, string>;
}

/** Adds one repetition's counts to the report; a lost job, counter drift or a node that gave up is a violation. */
export function addRun(report: ScenarioReport, run: number, tally: RunTally, extra: { drift?: string | undefined; unhealthy?: string[] } = {}): void {
  report.runs++;
  report.accepted += tally.accepted;
  report.completed += tally.completed;
  report.lost += tally.lost.length;
  report.duplicated += tally.duplicated;
  for (const id of tally.lost.slice(0, 5)) report.violations.push(`run ${run}: ${id} ended ${tally.outcomes.get(id)}`);
  if (tally.lost.length > 5) report.violations.push(`run ${run}: … and ${tally.lost.length - 5} more`);
  if (extra.drift) report.violations.push(`run ${run}: ${extra.drift}`);
  if (extra.unhealthy && extra.unhealthy.length > 0)
    report.violations.push(`run ${run}: node(s) ${extra.unhealthy.join(', ')} reported themselves unhealthy`);
}
