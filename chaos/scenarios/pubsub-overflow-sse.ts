import { Agent } from 'node:http';
import { isTerminal, type JobStatus } from '@scalable-api/core';
import { createRedisStore } from '@scalable-api/redis';
import { spread } from '../figures.js';
import { post } from '../open-load.js';
import { startPrivateRedis } from '../private-redis.js';
import { sleep, type ProcessGroup } from '../process-group.js';
import { startQuickstart, type QuickstartProcess } from '../quickstart-process.js';
import { followSse, type SseEvent, type SseFollow } from '../sse-reader.js';
import { emptyReport, type ScenarioReport } from '../scenario-report.js';

export interface PubsubOverflowOptions {
  group: ProcessGroup;
  /** How long jobs keep coming. */
  seconds?: number;
}

interface Reader {
  jobId: string;
  tree: boolean;
  node: string;
  follow: Promise<SseFollow>;
  doneAt?: number | undefined;
}

const settledTypes = new Set(['job.completed', 'job.failed', 'job.cancelled']);
const treeSize = 13; // fanout { depth: 2, width: 3 }

/**
 * Redis closes any subscriber that has more than 1 KB waiting for it (`client-output-buffer-limit
 * pubsub 1kb 1kb 0`), so under load the nodes' subscribed connections are dropped again and again
 * and the job events on them are lost. Two quickstart servers (the product as `npm start` runs it)
 * serve many SSE readers over real sockets, each following a job accepted by the *other* node, and
 * tree readers following fan-out trees. Every stream must end with its job's final event — with
 * every event in between, once, in order — and a reconnect after the end must get 204; every job
 * must settle.
 */
export async function pubsubOverflowScenario(options: PubsubOverflowOptions): Promise<ScenarioReport> {
  const { group, seconds = 30 } = options;
  const report = emptyReport(
    'SSE readers while Redis drops slow subscribers',
    `client-output-buffer-limit pubsub 1kb 1kb 0; 2 quickstart servers (Redis store, 32 workers); for ${seconds} s 20 sleep jobs/s (0.1–3 s) and 1 fan-out tree/s of ${treeSize}, each followed by an SSE reader on each server`,
    'job settled → its reader got the last event',
  );
  const redis = await startPrivateRedis(group, ['--client-output-buffer-limit', 'pubsub 1kb 1kb 0']);
  const store = createRedisStore({ url: redis.url, sweepMs: 0 });
  const posts = new Agent({ keepAlive: true, maxSockets: 64 });
  const streams = new Agent({ keepAlive: false, maxSockets: Infinity });
  const servers: QuickstartProcess[] = [];
  try {
    for (const name of ['sse-a', 'sse-b']) servers.push(await startQuickstart(group, name, { REDIS_URL: redis.url, WORKERS: '32' }));
    const readers: Reader[] = [];
    const jobs: string[] = [];
    const refusedPosts: number[] = [];
    const pending: Promise<void>[] = [];
    const follow = (jobId: string, tree: boolean) => {
      for (const server of servers) {
        const reader: Reader = {
          jobId,
          tree,
          node: server.name,
          follow: followSse(`${server.base}/jobs/${jobId}/events${tree ? '?tree=1' : ''}`, {
            agent: streams,
            timeoutMs: 90_000,
            done: (event) => settledTypes.has(event.type) && (JSON.parse(event.data) as { id?: string }).id === jobId,
          }).then((result) => {
            reader.doneAt = result.finished ? Date.now() : undefined;
            return result;
          }),
        };
        readers.push(reader);
      }
    };
    const submit = async (i: number, name: string, body: object, tree: boolean) => {
      const answer = await post(`${servers[i % 2]!.base}/jobs/${name}`, JSON.stringify(body), posts);
      if (answer.status !== 202) return void refusedPosts.push(answer.status);
      const { id } = JSON.parse(answer.body) as { id: string };
      jobs.push(id);
      follow(id, tree);
    };
    const began = Date.now();
    for (let i = 0; Date.now() - began < seconds * 1_000; i++) {
      pending.push(submit(i, 'sleep', { ms: 100 + Math.floor(Math.random() * 2_900) }, false));
      if (i % 20 === 0) pending.push(submit(i + 1, 'fanout', { depth: 2, width: 3 }, true));
      await sleep(50);
    }
    await Promise.all(pending);
    const results = await Promise.all(readers.map((r) => r.follow));

    // Every job settled (the store is the record), and what each reader saw.
    const records = new Map<string, { status: JobStatus; finishedAt: number | undefined }>();
    for (let i = 0; i < jobs.length; i += 500) {
      for (const record of await store.getMany(jobs.slice(i, i + 500))) if (record) records.set(record.id, record);
    }
    const unsettled = jobs.filter((id) => !isTerminal(records.get(id)?.status ?? 'queued'));
    if (unsettled.length > 0) report.violations.push(`${unsettled.length} jobs did not settle, e.g. ${unsettled[0]}`);
    const lag: number[] = [];
    let broken = 0;
    const problem = (reader: Reader, what: string) => {
      broken++;
      if (broken <= 10) report.violations.push(`${reader.node} reader of ${reader.tree ? 'tree ' : ''}${reader.jobId}: ${what}`);
    };
    readers.forEach((reader, i) => {
      const result = results[i]!;
      const record = records.get(reader.jobId);
      if (!result.finished) return problem(reader, result.error ?? 'never got the last event');
      if (result.afterEnd !== 204) problem(reader, `a reconnect after the end got ${result.afterEnd}, not 204`);
      if (record?.finishedAt !== undefined && reader.doneAt !== undefined) lag.push(reader.doneAt - record.finishedAt);
      const events = result.events.filter((e) => e.type !== 'tree.progress');
      const last = events.at(-1);
      if (!last || (JSON.parse(last.data) as { status?: string; id?: string }).status !== record?.status)
        problem(reader, `the last event ${last?.type} does not match the job's final status ${record?.status}`);
      if (reader.tree) {
        const settledJobs = new Set(events.filter((e) => settledTypes.has(e.type)).map((e) => (JSON.parse(e.data) as { id: string }).id));
        if (settledJobs.size !== treeSize) problem(reader, `saw ${settledJobs.size} of the tree's ${treeSize} jobs settle`);
        const perJob = eventsByJob(events);
        for (const [id, seqs] of perJob) if (!contiguous(seqs)) problem(reader, `events of ${id} out of order or missing: ${seqs.join(',')}`);
      } else {
        const seqs = events.map((e) => Number(e.id));
        if (!contiguous(seqs)) problem(reader, `event ids ${seqs.join(',')}: one missing, repeated or out of order`);
      }
    });
    if (broken > 10) report.violations.push(`… ${broken - 10} more reader problems`);
    const overflows = redis.log().filter((l) => /output buffer limits/i.test(l)).length;
    const sum = (f: (r: SseFollow) => number) => results.reduce((s, r) => s + f(r), 0);
    report.runs = 1;
    report.accepted = jobs.length;
    report.completed = [...records.values()].filter((r) => r.status === 'completed').length;
    report.lost = unsettled.length;
    report.recovery = lag;
    report.notes.push(
      `Redis closed a subscriber for its output buffer ${overflows} times (its log)`,
      `${jobs.length} jobs accepted (${refusedPosts.length} POSTs refused), ${readers.length} SSE readers (${readers.filter((r) => r.tree).length} of trees), ${sum((r) => r.events.length)} events delivered; ${results.filter((r) => r.finished).length}/${readers.length} got their last event, ${results.filter((r) => r.afterEnd === 204).length} then got 204`,
      `reconnects with Last-Event-ID (a response that ended early): ${sum((r) => r.reconnects)} in ${results.filter((r) => r.reconnects > 0).length} readers; refusals (503/429): ${sum((r) => r.refusals)}`,
      `job settled → its reader had the last event: ${spread(lag)}`,
    );
  } finally {
    for (const server of servers) server.child.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.exited));
    posts.destroy();
    streams.destroy();
    await store.close();
    await redis.stop();
  }
  return report;
}

function eventsByJob(events: readonly SseEvent[]): Map<string, number[]> {
  const byJob = new Map<string, number[]>();
  for (const event of events) {
    const { id, seq } = JSON.parse(event.data) as { id: string; seq: number };
    byJob.set(id, [...(byJob.get(id) ?? []), seq]);
  }
  return byJob;
}

/** 1, 2, 3, …: nothing missing, repeated or out of order. */
function contiguous(seqs: readonly number[]): boolean {
  return seqs.every((seq, i) => seq === i + 1);
}
