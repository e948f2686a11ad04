/**
 * HTTP intake: how many jobs per second the full plugin accepts (parse, validate, enqueue, 202)
 * while workers run them, against a bare fastify route answering 202, in the same session.
 *
 *   throughput  autocannon, 100 connections, POST {"hello":"world"} to /jobs/echo, per variant:
 *               bare (fastify only), core (fastify + system.submitByName, no plugin), plugin (the
 *               jobs plugin). Fresh process per variant and run, a 2 s warm-up discarded, then
 *               BENCH_DURATION s measured; RUNS runs, median reported with the ratios.
 *   metrics     what /metrics costs: the plugin against the plugin with `metrics: false`, fresh
 *               process per variant and run, interleaved, RUNS runs of BENCH_DURATION s after a 2 s
 *               warm-up; req/s and the server's CPU per request (user + system from
 *               /proc/<pid>/stat over the measured window), medians and the ratio; then the time
 *               one scrape of /metrics takes on the loaded server.
 *   overload    the plugin in front of 4 workers running `sleep {ms:20}` (capacity 200 jobs/s)
 *               with a queue bound of 200, warmed up at capacity for 2 s, then offered 1,000 req/s
 *               open-loop for BENCH_DURATION s:
 *               accepted p50/p99, time to 503, memory over time, and every accepted job checked
 *               to have completed.
 *
 *   node --conditions=source --import tsx bench/http-intake.ts [throughput|metrics|overload]
 *
 * Everything runs on loopback; the load generator shares the machine (2 cores), so absolute
 * numbers drift from run to run and the ratios are what to compare.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const DURATION = Number(process.env['BENCH_DURATION'] ?? 10);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 100);
const serverScript = fileURLToPath(new URL('./http-intake-server.ts', import.meta.url));
const body = JSON.stringify({ hello: 'world' });

interface Server {
  child: ChildProcess;
  base: string;
  memory: Array<{ at: number; rss: number; heap: number }>;
}

async function startServer(variant: string, env: Record<string, string> = {}): Promise<Server> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', serverScript, variant], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const memory: Server['memory'] = [];
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) {
      const m = /^MEM (\d+) (\d+) (\d+)$/.exec(line);
      if (m) memory.push({ at: Number(m[1]), rss: Number(m[2]), heap: Number(m[3]) });
      else if (line.trim()) process.stderr.write(`[${variant}] ${line}\n`);
    }
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${variant} did not start`)), 30_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const m = /READY (\d+)/.exec(chunk);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`${variant} exited with ${code}`)));
  });
  return { child, base: `http://127.0.0.1:${port}`, memory };
}

async function stopServer(server: Server): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function cannon(url: string, duration: number) {
  return autocannon({ url, method: 'POST', connections: CONNECTIONS, duration, headers: { 'content-type': 'application/json' }, body });
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  /** Jobs completed per second during the measured window (plugin only). */
  completedPerSec?: number;
}

async function throughputRun(variant: string): Promise<Sample> {
  const server = await startServer(variant);
  try {
    await cannon(`${server.base}/jobs/echo`, 2);
    const completedBefore = variant === 'plugin' ? await metric(server.base, 'scalable_api_jobs_completed_total') : 0;
    const started = performance.now();
    const result = await cannon(`${server.base}/jobs/echo`, DURATION);
    const sample: Sample = { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx };
    if (variant === 'plugin') {
      const completed = (await metric(server.base, 'scalable_api_jobs_completed_total')) - completedBefore;
      sample.completedPerSec = completed / ((performance.now() - started) / 1000);
    }
    return sample;
  } finally {
    await stopServer(server);
  }
}

/** CPU seconds (user + system) the process used so far; NaN where /proc is not there. */
function cpuSeconds(pid: number | undefined): number {
  try {
    // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

interface MetricsSample {
  rps: number;
  cpuUsPerRequest: number;
  scrapeMs: number;
}

async function metricsRun(variant: 'plugin' | 'plugin-no-metrics'): Promise<MetricsSample> {
  const server = await startServer(variant);
  try {
    await cannon(`${server.base}/jobs/echo`, 2);
    const cpuBefore = cpuSeconds(server.child.pid);
    const result = await cannon(`${server.base}/jobs/echo`, DURATION);
    const cpu = cpuSeconds(server.child.pid) - cpuBefore;
    let scrapeMs = NaN;
    if (variant === 'plugin') {
      const started = performance.now();
      await (await fetch(`${server.base}/metrics`)).text();
      scrapeMs = performance.now() - started;
    }
    return { rps: result.requests.average, cpuUsPerRequest: (cpu / result.requests.total) * 1e6, scrapeMs };
  } finally {
    await stopServer(server);
  }
}

async function metricsCost(): Promise<void> {
  const variants = ['plugin', 'plugin-no-metrics'] as const;
  const samples: Record<string, MetricsSample[]> = { plugin: [], 'plugin-no-metrics': [] };
  for (let run = 1; run <= RUNS; run++) {
    for (const variant of run % 2 === 1 ? variants : [...variants].reverse()) {
      const sample = await metricsRun(variant);
      samples[variant]!.push(sample);
      console.log(
        `  run ${run} ${variant.padEnd(17)} ${sample.rps.toFixed(0).padStart(6)} req/s  ${sample.cpuUsPerRequest.toFixed(1)} µs CPU/request` +
          (Number.isNaN(sample.scrapeMs) ? '' : `  scrape ${sample.scrapeMs.toFixed(1)} ms`),
      );
    }
  }
  const med = (variant: string, key: keyof MetricsSample) => median(samples[variant]!.map((s) => s[key]));
  console.log(`
/metrics cost, median of ${RUNS} (${DURATION} s each, ${CONNECTIONS} connections):`);
  console.log('| variant | req/s | µs CPU per request |');
  console.log('|---|---:|---:|');
  for (const variant of variants) console.log(`| ${variant} | ${med(variant, 'rps').toFixed(0)} | ${med(variant, 'cpuUsPerRequest').toFixed(1)} |`);
  console.log(
    `
CPU per request with / without metrics = ${(med('plugin', 'cpuUsPerRequest') / med('plugin-no-metrics', 'cpuUsPerRequest')).toFixed(3)}   ` +
      `req/s with / without = ${(med('plugin', 'rps') / med('plugin-no-metrics', 'rps')).toFixed(3)}   one scrape under load: ${med('plugin', 'scrapeMs').toFixed(1)} ms`,
  );
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function throughput(): Promise<void> {
  const variants = ['bare', 'core', 'plugin'] as const;
  const samples: Record<string, Sample[]> = { bare: [], core: [], plugin: [] };
  for (let run = 1; run <= RUNS; run++) {
    for (const variant of variants) {
      const sample = await throughputRun(variant);
      samples[variant]!.push(sample);
      console.log(
        `  run ${run} ${variant.padEnd(6)} ${sample.rps.toFixed(0).padStart(6)} req/s  p50 ${sample.p50} ms  p99 ${sample.p99} ms  non-2xx ${sample.non2xx}` +
          (sample.completedPerSec !== undefined ? `  completed ${sample.completedPerSec.toFixed(0)} jobs/s` : ''),
      );
    }
  }
  const med = (variant: string, key: keyof Sample) => median(samples[variant]!.map((s) => s[key] as number));
  console.log(`\nthroughput, median of ${RUNS} (${DURATION} s each, ${CONNECTIONS} connections):`);
  console.log('| variant | req/s | p50 ms | p99 ms |');
  console.log('|---|---:|---:|---:|');
  for (const variant of variants) console.log(`| ${variant} | ${med(variant, 'rps').toFixed(0)} | ${med(variant, 'p50')} | ${med(variant, 'p99')} |`);
  const ratio = med('plugin', 'rps') / med('bare', 'rps');
  console.log(
    `\nplugin / bare = ${(ratio * 100).toFixed(1)}%   core / bare = ${((med('core', 'rps') / med('bare', 'rps')) * 100).toFixed(1)}%   plugin / core = ${((med('plugin', 'rps') / med('core', 'rps')) * 100).toFixed(1)}%`,
  );
  const completed = median(samples['plugin']!.map((s) => s.completedPerSec ?? 0));
  console.log(`plugin end to end: ${completed.toFixed(0)} jobs/s completed while accepting = ${((completed * 60) / 1e6).toFixed(2)} M jobs/min`);
}

interface Outcome {
  status: number;
  ms: number;
  at: number;
  id?: string;
}

/** Open-loop: requests go out on schedule whether or not earlier ones were answered. */
async function overload(): Promise<void> {
  const rate = 1_000;
  const server = await startServer('overload', { WORKERS: '4', QUEUE_LIMIT: '200', SAMPLE_MS: '250' });
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const payload = JSON.stringify({ ms: 20 });
  const outcomes: Outcome[] = [];
  const send = () =>
    new Promise<void>((resolve) => {
      const start = performance.now();
      const req = request(`${server.base}/jobs/sleep`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => {
          const outcome: Outcome = { status: res.statusCode ?? 0, ms: performance.now() - start, at: start };
          if (res.statusCode === 202) outcome.id = (JSON.parse(text) as { id: string }).id;
          outcomes.push(outcome);
          resolve();
        });
      });
      req.on('error', () => {
        outcomes.push({ status: 0, ms: performance.now() - start, at: start });
        resolve();
      });
      req.end(payload);
    });
  try {
    const openLoop = async (perSecond: number, seconds: number): Promise<number> => {
      const began = performance.now();
      const pending: Promise<void>[] = [];
      await new Promise<void>((resolve) => {
        let sent = 0;
        const total = perSecond * seconds;
        const timer = setInterval(() => {
          const due = Math.min(total, Math.floor(((performance.now() - began) / 1000) * perSecond));
          while (sent < due) {
            pending.push(send());
            sent++;
          }
          if (sent >= total) {
            clearInterval(timer);
            resolve();
          }
        }, 5);
      });
      await Promise.all(pending);
      return began;
    };
    const drained = async () => {
      for (let i = 0; i < 300; i++) {
        const busy = (await metric(server.base, 'scalable_api_jobs_queued')) + (await metric(server.base, 'scalable_api_jobs_running'));
        if (busy === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };
    // Warm-up at capacity (not recorded), so the JIT is warm when the overload starts.
    await openLoop(rate / 5, 2);
    await drained();
    outcomes.length = 0;
    server.memory.length = 0;
    const began = await openLoop(rate, DURATION);
    // Let the accepted work drain, then check every accepted job.
    await drained();
    const accepted = outcomes.filter((o) => o.status === 202);
    let completed = 0;
    for (const o of accepted) {
      const job = (await (await fetch(`${server.base}/jobs/${o.id}`)).json()) as { status: string };
      if (job.status === 'completed') completed++;
    }
    const rejected = outcomes.filter((o) => o.status === 503);
    const other = outcomes.length - accepted.length - rejected.length;
    const pct = (values: number[], p: number) =>
      ([...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))] ?? NaN).toFixed(1);
    const firstReject = rejected.length > 0 ? Math.min(...rejected.map((o) => o.at)) - began : NaN;
    const mem = server.memory.filter((m) => m.at > 0);
    const half = Math.floor(mem.length / 2);
    const mb = (bytes: number) => (bytes / 1048576).toFixed(1);
    const maxRss = (list: typeof mem) => Math.max(...list.map((m) => m.rss));
    console.log(`\noverload: ${rate} req/s offered for ${DURATION} s to capacity ~200 jobs/s (4 workers x sleep 20 ms), queue bound 200`);
    console.log(`  sent ${outcomes.length}: ${accepted.length} accepted (202), ${rejected.length} refused (503), ${other} other`);
    console.log(
      `  accepted latency p50 ${pct(
        accepted.map((o) => o.ms),
        0.5,
      )} ms, p99 ${pct(
        accepted.map((o) => o.ms),
        0.99,
      )} ms`,
    );
    console.log(
      `  503 latency p50 ${pct(
        rejected.map((o) => o.ms),
        0.5,
      )} ms, p99 ${pct(
        rejected.map((o) => o.ms),
        0.99,
      )} ms; first 503 after ${firstReject.toFixed(0)} ms`,
    );
    console.log(`  accepted jobs completed: ${completed} / ${accepted.length} (lost: ${accepted.length - completed})`);
    if (mem.length > 2)
      console.log(`  server RSS max: first half ${mb(maxRss(mem.slice(0, half)))} MB, second half ${mb(maxRss(mem.slice(half)))} MB`);
  } finally {
    agent.destroy();
    await stopServer(server);
  }
}

console.log(`HTTP intake benchmark — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${os.platform()}`);
const only = process.argv[2];
if (only === undefined || only === 'throughput') await throughput();
if (only === undefined || only === 'metrics') await metricsCost();
if (only === undefined || only === 'overload') await overload();
