/**
 * `npm run soak`: a bounded soak of the quickstart server (Redis store, a private Redis) at 70%
 * of its measured capacity, open model. Every window it records the latency of accepted
 * requests, the server's RSS and heap right after a forced GC (over IPC), and Redis memory; at
 * the end it prints the slope of each over time. They should be flat.
 *
 *   SOAK_MINUTES   default 10
 *   SOAK_WINDOW_S  seconds per sample window (default 30)
 *   SOAK_LOAD      fraction of the measured capacity (default 0.7)
 */
import { Agent } from 'node:http';
import { cpus } from 'node:os';
import { quantile, slope } from './figures.js';
import { openLoad, post } from './open-load.js';
import { startPrivateRedis } from './private-redis.js';
import { ProcessGroup, sleep } from './process-group.js';
import { startQuickstart, type QuickstartProcess } from './quickstart-process.js';

const minutes = Number(process.env['SOAK_MINUTES'] ?? 10);
const windowS = Number(process.env['SOAK_WINDOW_S'] ?? 30);
const load = Number(process.env['SOAK_LOAD'] ?? 0.7);

interface Sample {
  minute: number;
  rate: number;
  accepted: number;
  other: number;
  p50: number;
  p99: number;
  rssMb: number;
  heapMb: number;
  redisMb: number;
}

function probe(server: QuickstartProcess): Promise<{ rss: number; heapUsed: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the memory probe did not answer')), 10_000);
    server.child.once('message', (message) => {
      clearTimeout(timer);
      resolve(message as { rss: number; heapUsed: number });
    });
    server.child.send('probe');
  });
}

/**
 * End-to-end capacity: a closed loop of 64 clients for 5 s, then until the workers have drained
 * what was accepted. Intake alone would overstate it: accepted jobs still have to run.
 */
async function measureCapacity(base: string, agent: Agent): Promise<number> {
  const began = performance.now();
  const end = began + 5_000;
  let accepted = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (performance.now() < end) if ((await post(`${base}/jobs/echo`, '{"soak":true}', agent)).status === 202) accepted++;
    }),
  );
  for (let i = 0; i < 600; i++) {
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const open = ['queued', 'running'].reduce((n, g) => n + Number(new RegExp(`^scalable_api_jobs_${g} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0), 0);
    if (open === 0) break;
    await sleep(100);
  }
  return accepted / ((performance.now() - began) / 1_000);
}

const group = new ProcessGroup();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void group.killAll().then(() => process.exit(130)));
// A crash of the soak itself must not leave the server or Redis running.
process.on('exit', () => group.killAllNow());
try {
  const redis = await startPrivateRedis(group);
  const server = await startQuickstart(group, 'soak', { REDIS_URL: redis.url, WORKERS: '32', QUEUE_LIMIT: '10000' }, { probe: true });
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const url = `${server.base}/jobs/echo`;
  await measureCapacity(server.base, agent); // warm-up
  const capacity = await measureCapacity(server.base, agent);
  const rate = Math.max(10, Math.round(capacity * load));
  console.log(
    `soak: ${minutes} min at ${rate} req/s (${Math.round(load * 100)}% of a measured ${capacity.toFixed(0)} req/s), echo jobs, Redis store; ${cpus().length} cores, Node ${process.version}`,
  );
  console.log('| minute | accepted | other | p50 ms | p99 ms | RSS MB | heap after GC MB | Redis MB |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
  const samples: Sample[] = [];
  const began = Date.now();
  const windows = Math.max(1, Math.round((minutes * 60) / windowS));
  for (let w = 0; w < windows; w++) {
    const outcomes = await openLoad({ url, rate, seconds: windowS, body: '{"soak":true}', agent, timeoutMs: 10_000 });
    const accepted = outcomes.filter((o) => o.status === 202).map((o) => o.ms);
    const memory = await probe(server);
    const sample: Sample = {
      minute: (Date.now() - began) / 60_000,
      rate,
      accepted: accepted.length,
      other: outcomes.length - accepted.length,
      p50: quantile(accepted, 0.5),
      p99: quantile(accepted, 0.99),
      rssMb: memory.rss / 1048576,
      heapMb: memory.heapUsed / 1048576,
      redisMb: (await redis.usedMemory()) / 1048576,
    };
    samples.push(sample);
    console.log(
      `| ${sample.minute.toFixed(1)} | ${sample.accepted} | ${sample.other} | ${sample.p50.toFixed(1)} | ${sample.p99.toFixed(1)} | ${sample.rssMb.toFixed(1)} | ${sample.heapMb.toFixed(1)} | ${sample.redisMb.toFixed(1)} |`,
    );
  }
  // Slopes over the second half: the first minutes fill caches, JIT and the retention window.
  const half = samples.slice(Math.floor(samples.length / 2));
  const per = (pick: (s: Sample) => number) => slope(half.map((s) => ({ x: s.minute, y: pick(s) })));
  console.log(`\nslopes over the second half (${half.length} windows), per minute:`);
  console.log(
    `  RSS ${per((s) => s.rssMb).toFixed(2)} MB/min, heap after GC ${per((s) => s.heapMb).toFixed(2)} MB/min, Redis ${per((s) => s.redisMb).toFixed(2)} MB/min`,
  );
  console.log(`  p50 ${per((s) => s.p50).toFixed(2)} ms/min, p99 ${per((s) => s.p99).toFixed(2)} ms/min`);
  const first = samples[0]!;
  const last = samples[samples.length - 1]!;
  console.log(
    `  latency drift first → last window: p50 ${first.p50.toFixed(1)} → ${last.p50.toFixed(1)} ms, p99 ${first.p99.toFixed(1)} → ${last.p99.toFixed(1)} ms`,
  );
  console.log(
    `  refused or failed requests: ${samples.reduce((n, s) => n + s.other, 0)} of ${samples.reduce((n, s) => n + s.other + s.accepted, 0)}`,
  );
  agent.destroy();
  server.child.kill('SIGTERM');
  await Promise.race([server.exited, sleep(10_000)]);
  await redis.stop();
} finally {
  await group.killAll();
}
