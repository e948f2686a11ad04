import { Agent, request } from 'node:http';
import { metric, stopBenchServer, type BenchServer } from './bench-server.js';

// The overload part of bench/http-intake.ts (`http-intake.ts overload`).

interface Outcome {
  status: number;
  ms: number;
  at: number;
  id?: string;
}

/**
 * The plugin in front of 4 workers running `sleep {ms:20}` (capacity 200 jobs/s) with a queue
 * bound of 200, warmed up at capacity for 2 s, then offered 1,000 req/s open-loop — requests go
 * out on schedule whether or not earlier ones were answered — for `duration` s: accepted p50/p99,
 * time to 503, memory over time, and every accepted job checked to have completed. `start` starts
 * the intake server's `overload` variant with the given environment.
 */
export async function overload(duration: number, start: (env: Record<string, string>) => Promise<BenchServer>): Promise<void> {
  const rate = 1_000;
  const server = await start({ WORKERS: '4', QUEUE_LIMIT: '200', SAMPLE_MS: '250' });
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
    const began = await openLoop(rate, duration);
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
    console.log(`\noverload: ${rate} req/s offered for ${duration} s to capacity ~200 jobs/s (4 workers x sleep 20 ms), queue bound 200`);
    console.log(`  sent ${outcomes.length}: ${accepted.length} accepted (202), ${rejected.length} refused (503), ${other} other`);
    const acceptedMs = accepted.map((o) => o.ms);
    const rejectedMs = rejected.map((o) => o.ms);
    console.log(`  accepted latency p50 ${pct(acceptedMs, 0.5)} ms, p99 ${pct(acceptedMs, 0.99)} ms`);
    console.log(`  503 latency p50 ${pct(rejectedMs, 0.5)} ms, p99 ${pct(rejectedMs, 0.99)} ms; first 503 after ${firstReject.toFixed(0)} ms`);
    console.log(`  accepted jobs completed: ${completed} / ${accepted.length} (lost: ${accepted.length - completed})`);
    if (mem.length > 2)
      console.log(`  server RSS max: first half ${mb(maxRss(mem.slice(0, half)))} MB, second half ${mb(maxRss(mem.slice(half)))} MB`);
  } finally {
    agent.destroy();
    await stopBenchServer(server);
  }
}
