import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** One `MEM <at> <rss> <heap>` line of a server started with `memory: true`. */
export interface MemorySample {
  at: number;
  rss: number;
  heap: number;
}

export interface BenchServer {
  child: ChildProcess;
  base: string;
  /** What the server reported of its memory (empty unless started with `memory: true`). */
  memory: MemorySample[];
}

export interface BenchServerOptions {
  /** Gives up when the server has not said `READY <port>` by then. */
  startMs: number;
  /**
   * Reads the server's stderr for `MEM` lines (into `memory`) and passes the rest through, each
   * line tagged with the variant; otherwise the server's stderr is this process's.
   */
  memory?: boolean;
}

/**
 * A benchmark's server in its own process: `script variant` with tsx and the `source` condition,
 * `env` over this process's environment. It resolves once the server printed `READY <port>`;
 * the benchmark then loads it on loopback.
 */
export async function startBenchServer(
  script: string,
  variant: string,
  env: Record<string, string>,
  options: BenchServerOptions,
): Promise<BenchServer> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script, variant], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', options.memory ? 'pipe' : 'inherit'],
  });
  const memory: MemorySample[] = [];
  if (options.memory) {
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        const m = /^MEM (\d+) (\d+) (\d+)$/.exec(line);
        if (m) memory.push({ at: Number(m[1]), rss: Number(m[2]), heap: Number(m[3]) });
        else if (line.trim()) process.stderr.write(`[${variant}] ${line}\n`);
      }
    });
  }
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${variant} did not start`)), options.startMs);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
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

/** SIGTERM, and SIGKILL if the server has not exited `graceMs` later; resolves once it exited. */
export async function stopBenchServer(server: BenchServer, graceMs = 10_000): Promise<void> {
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** One value of the server's `/metrics` (NaN when it is not there). */
export async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

/** CPU seconds (user + system) the process used so far; NaN where /proc is not there. */
export function cpuSeconds(pid: number | undefined): number {
  try {
    // Fields after the command name (which is in parentheses): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}
