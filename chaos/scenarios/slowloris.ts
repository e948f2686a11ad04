import { Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { quantile } from '../figures.js';
import { openLoad, type Outcome } from '../open-load.js';
import { sleep, type ProcessGroup } from '../process-group.js';
import { startQuickstart } from '../quickstart-process.js';
import { emptyReport, type ScenarioReport } from '../scenario-report.js';

export interface SlowlorisOptions {
  group: ProcessGroup;
  sockets?: number;
  seconds?: number;
}

/**
 * Slowloris: many sockets that send a request's headers one line every 2 s and never finish,
 * while legitimate clients send 50 requests/s. The legitimate traffic must keep flowing, and
 * the server must close the slow sockets itself (its header timeout), not hold them forever.
 * `recovery` is how long the server kept each slow socket open.
 */
export async function slowlorisScenario(options: SlowlorisOptions): Promise<ScenarioReport> {
  const { group, sockets = 1_000, seconds = 40 } = options;
  const report = emptyReport(
    'slowloris + legitimate traffic',
    `${sockets} sockets trickling header lines (one per 2 s) for ${seconds} s, 50 legitimate req/s, quickstart (memory store)`,
    'server closes a slow socket',
  );
  const server = await startQuickstart(group, 'slowloris', {});
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const slow: Socket[] = [];
  const closedAfter: number[] = [];
  let trickle: NodeJS.Timeout | undefined;
  try {
    const url = `${server.base}/jobs/echo`;
    const { port } = new URL(server.base);
    const baseline = await openLoad({ url, rate: 50, seconds: 5, body: '{"a":1}', agent, timeoutMs: 10_000 });
    // The memory store loses accepted jobs on a crash, and every 202 must say so.
    const notDurable = baseline.filter((o) => o.status === 202 && (JSON.parse(o.body) as { durable?: unknown }).durable !== false).length;
    if (notDurable > 0) report.violations.push(`${notDurable} 202 answers of the memory-store server did not say durable: false`);
    const attackStart = performance.now();
    for (let i = 0; i < sockets; i++) {
      const socket = connect(Number(port), '127.0.0.1');
      socket.on('error', () => {});
      socket.once('close', () => closedAfter.push(performance.now() - attackStart));
      socket.write(`POST /jobs/echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n`);
      slow.push(socket);
    }
    let line = 0;
    trickle = setInterval(() => {
      line++;
      for (const socket of slow) if (!socket.destroyed) socket.write(`X-Slow-${line}: ${line}\r\n`);
    }, 2_000);
    const during = await openLoad({ url, rate: 50, seconds, body: '{"a":1}', agent, timeoutMs: 10_000 });
    clearInterval(trickle);
    const stillOpen = slow.filter((s) => !s.destroyed).length;
    const ok = (list: Outcome[]) => list.filter((o) => o.status === 202).length;
    const p = (list: Outcome[], q: number) =>
      quantile(
        list.filter((o) => o.status === 202).map((o) => o.ms),
        q,
      ).toFixed(1);
    report.runs = 1;
    report.accepted = ok(during);
    report.completed = ok(during);
    report.recovery = closedAfter;
    report.notes.push(
      `legitimate before: ${ok(baseline)}/${baseline.length} accepted, p50 ${p(baseline, 0.5)} ms, p99 ${p(baseline, 0.99)} ms`,
      `legitimate during: ${ok(during)}/${during.length} accepted, p50 ${p(during, 0.5)} ms, p99 ${p(during, 0.99)} ms`,
      `slow sockets closed by the server: ${closedAfter.length}/${sockets} within ${seconds} s; ${stillOpen} still open at the end`,
    );
    if (ok(during) < during.length) report.violations.push(`${during.length - ok(during)} legitimate requests failed during the attack`);
    if (stillOpen > 0) report.violations.push(`${stillOpen} slow sockets were still held open after ${seconds} s`);
  } finally {
    clearInterval(trickle);
    for (const socket of slow) socket.destroy();
    agent.destroy();
    server.child.kill('SIGKILL');
    await server.exited;
  }
  await sleep(100);
  return report;
}
