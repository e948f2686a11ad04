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
