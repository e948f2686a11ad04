import { createJobSystem, defineJob, newJobId, type JobStore, type JobSystem, type NewJob } from '@scalable-api/core';
import { sleep } from './process-group.js';

/** Runs until cancelled (bounded: it gives up after two minutes). */
const hold = defineJob({
  name: 'hold',
  async run(_input: null, ctx) {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 120_000);
      ctx.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
    ctx.signal.throwIfAborted();
    return null;
  },
});

/** Completes at once. */
const link = defineJob({ name: 'link', run: (_input: null) => null });

/** Spawns `width` children in one go (the runtime batches the spawns, 1,000 per store call) and waits for them. */
const wide = defineJob({
  name: 'wide',
  async run(input: { width: number; child: 'hold' | 'link' }, ctx) {
    const child = input.child === 'hold' ? hold : link;
    await Promise.all(Array.from({ length: input.width }, () => ctx.spawn(child, null)));
    return { width: input.width };
  },
});

export interface DeepTreeStep {
  what: string;
  jobs: number;
  /** ms to build the tree (enqueued, or spawned by its root) */
  createMs: number;
  /** ms from the cancel (or the build) to the last job settled */
  settleMs: number;
  /** What is off; empty when every job ended as it must. */
  problems: string[];
}

/**
 * The four deep-and-wide cases on one store, through a real job system on it: a 100,000-deep
 * chain cancelled from its root and one run to completion (each completes early and waits for its
 * child, so the last leaf settles the whole chain upwards), a root that spawns 100,000 children
 * and is cancelled, and one whose children all complete. Each case is checked record by record
 * before the next starts; the store must retain one finished root (`retention: { count: 1 }`),
 * so each tree is dropped by retention while the next case runs, and a last case drops the last
 * one. `between` runs after each case (the caller reads Redis' slow log).
 */
export async function runDeepTrees(
  store: JobStore,
  size: number,
  between: (step: DeepTreeStep) => Promise<void>,
  timeoutMs = 600_000,
): Promise<DeepTreeStep[]> {
  const system = createJobSystem({
    jobs: [hold, link, wide],
    workers: 32,
    store,
    queue: { limit: 10 * size },
    trees: { maxChildren: size },
    leaseMs: 30_000,
  });
  await system.start();
  const steps: DeepTreeStep[] = [];
  // A case whose store call throws leaves its tree behind: the cases after it are not run.
  const cases: [string, () => Promise<DeepTreeStep>][] = [
    [`chain ${size} deep, cancelled from its root`, () => chain(system, store, size, 'hold', timeoutMs)],
    [`chain ${size} deep, run to completion`, () => chain(system, store, size, 'link', timeoutMs)],
    [`root of ${size} children, cancelled`, () => fan(system, store, size, 'hold', timeoutMs)],
    [`root of ${size} children, run to completion`, () => fan(system, store, size, 'link', timeoutMs)],
    ['the last tree dropped by retention', () => dropLast(system, store, timeoutMs)],
  ];
  try {
    for (const [what, run] of cases) {
      const began = Date.now();
      let step: DeepTreeStep;
      try {
        step = await run();
      } catch (error) {
        const cause = (error as { cause?: { message?: string } }).cause?.message;
        step = {
          what,
          jobs: 0,
          createMs: 0,
          settleMs: Date.now() - began,
          problems: [`a call failed: ${(error as Error).message}${cause ? ` (${cause})` : ''}`],
        };
      }
      steps.push(step);
      await between(step);
      if (step.problems.some((p) => p.startsWith('a call failed'))) break;
    }
  } finally {
    await system.stop({ drain: false });
  }
  return steps;
}

async function chain(system: JobSystem, store: JobStore, size: number, name: 'hold' | 'link', timeoutMs: number): Promise<DeepTreeStep> {
  const what = `chain ${size} deep, ${name === 'hold' ? 'cancelled from its root' : 'run to completion'}`;
  const began = Date.now();
  const jobs: NewJob[] = [];
  for (let i = 0; i <= size; i++) {
    const parentId = jobs[i - 1]?.id;
    jobs.push({ id: store.newId?.({ parentId }) ?? newJobId(), name, input: null, priority: 0, parentId });
  }
  const ids = jobs.map((j) => j.id);
  const problems: string[] = [];
  // Batches of 1,000 like the runtime's; a parent is always in the same or an earlier batch.
  for (let i = 0; i < jobs.length; i += 1_000) {
    const outcomes = await store.enqueue(jobs.slice(i, i + 1_000), { limit: 10 * size });
    const refused = outcomes.filter((o) => !o.ok).length;
    if (refused > 0) problems.push(`${refused} jobs of a batch refused: ${JSON.stringify(outcomes.find((o) => !o.ok))}`);
  }
  const createMs = Date.now() - began;
  let settleFrom = Date.now();
  if (name === 'hold') {
    // Let the workers claim some, so the cascade meets running jobs too.
    await waitFor(async () => (await store.counts()).running > 0, 10_000);
    settleFrom = Date.now();
    const answer = await system.cancel(ids[0]!);
    if (answer !== 'cancelling' && answer !== 'cancelled') problems.push(`cancel answered ${answer}`);
  }
  const expected = name === 'hold' ? 'cancelled' : 'completed';
  const settled = await waitFor(async () => (await store.get(ids[0]!))?.status === expected, timeoutMs);
  const settleMs = Date.now() - settleFrom;
  if (!settled) problems.push(`the root is not ${expected} after ${timeoutMs} ms`);
  problems.push(...(await check(store, ids, expected)));
  return { what, jobs: ids.length, createMs, settleMs, problems };
}

async function fan(system: JobSystem, store: JobStore, size: number, child: 'hold' | 'link', timeoutMs: number): Promise<DeepTreeStep> {
  const what = `root of ${size} children, ${child === 'hold' ? 'cancelled' : 'run to completion'}`;
  const began = Date.now();
  const handle = await system.submit(wide, { width: size, child });
  const problems: string[] = [];
  const created = await waitFor(async () => {
    const record = await store.get(handle.id);
    return record !== undefined && (record.childCount >= size || record.status === 'completed');
  }, timeoutMs);
  if (!created) problems.push(`the root did not spawn its ${size} children within ${timeoutMs} ms`);
  const createMs = Date.now() - began;
  const settleFrom = Date.now();
  if (child === 'hold') {
    const answer = await system.cancel(handle.id);
    if (answer !== 'cancelling' && answer !== 'cancelled') problems.push(`cancel answered ${answer}`);
  }
  const expected = child === 'hold' ? 'cancelled' : 'completed';
  const settled = await waitFor(async () => (await store.get(handle.id))?.status === expected, timeoutMs);
  const settleMs = Date.now() - settleFrom;
  if (!settled) problems.push(`the root is not ${expected} after ${timeoutMs} ms`);
  const children = await store.children(handle.id);
  if (children.length !== size) problems.push(`the root has ${children.length} children, not ${size}`);
  problems.push(...(await check(store, [handle.id, ...children.map((c) => c.id)], expected)));
  return { what, jobs: children.length + 1, createMs, settleMs, problems };
}

/**
 * With retention of one finished root (the caller's store is made so), the next root to finish
 * drops the last 100,000-job tree: the drop cascade, bounded per call like the others.
 */
async function dropLast(system: JobSystem, store: JobStore, timeoutMs: number): Promise<DeepTreeStep> {
  const began = Date.now();
  await system.submit(link, null).then((h) => h.result());
  const dropped = await waitFor(async () => {
    const counts = await store.counts();
    return counts.completed + counts.cancelled <= 1;
  }, timeoutMs);
  const problems = dropped ? [] : [`finished trees still held after ${timeoutMs} ms: ${JSON.stringify(await store.counts())}`];
  return { what: 'the last tree dropped by retention', jobs: 1, createMs: 0, settleMs: Date.now() - began, problems };
}

/** Every job of the tree ended `expected`, and the store's counters show nothing open. */
async function check(store: JobStore, ids: readonly string[], expected: string): Promise<string[]> {
  const problems: string[] = [];
  const off = new Map<string, number>();
  for (let i = 0; i < ids.length; i += 500) {
    for (const record of await store.getMany(ids.slice(i, i + 500))) {
      const status = record?.status ?? 'missing';
      if (status !== expected) off.set(status, (off.get(status) ?? 0) + 1);
    }
  }
  for (const [status, n] of off) problems.push(`${n} jobs ${status} instead of ${expected}`);
  // A cascade continued over later calls may still be catching its counters up: bounded wait.
  await waitFor(async () => open(await store.counts()) === 0, 30_000);
  const counts = await store.counts();
  if (open(counts) > 0) problems.push(`the store's counters still show open jobs: ${JSON.stringify(counts)}`);
  return problems;
}

function open(counts: Awaited<ReturnType<JobStore['counts']>>): number {
  return counts.queued + counts.delayed + counts.running + counts.waitingChildren;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) return false;
    await sleep(50);
  }
  return true;
}
