import { spawn, type ChildProcess } from 'node:child_process';

export interface Proc {
  name: string;
  child: ChildProcess;
  /** Lines the process wrote on stdout, in order. */
  lines: string[];
  /** Resolves on the first stdout line that starts with `prefix`; rejects if the process exits first. */
  line(prefix: string, timeoutMs?: number): Promise<string>;
  exited: Promise<void>;
  alive(): boolean;
}

/**
 * Every process a scenario starts, so that each one is killed at the end even when the scenario
 * throws: a chaos suite that leaves nodes or Redis servers behind poisons the next run.
 */
export class ProcessGroup {
  private readonly procs = new Set<Proc>();

  start(name: string, command: string, args: string[], env: Record<string, string> = {}, options: { ipc?: boolean } = {}): Proc {
    const child = spawn(command, args, {
      env: { ...process.env, ...env },
      stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
      detached: false,
    });
    const lines: string[] = [];
    const waiters: { prefix: string; resolve: (line: string) => void }[] = [];
    let buffered = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        lines.push(text);
        for (const waiter of [...waiters]) {
          if (text.startsWith(waiter.prefix)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(text);
          }
        }
      }
    });
    // Kept for the report when a process dies unexpectedly; bounded so a chatty one cannot grow it.
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 20_000) stderr += chunk;
      if (process.env['CHAOS_VERBOSE']) process.stderr.write(`[${name}] ${chunk}`);
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const proc: Proc = {
      name,
      child,
      lines,
      exited,
      alive: () => child.exitCode === null && child.signalCode === null,
      line(prefix, timeoutMs = 30_000) {
        const seen = lines.find((l) => l.startsWith(prefix));
        if (seen !== undefined) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`${name}: no "${prefix}" line within ${timeoutMs} ms\n${stderr.slice(-2_000)}`)),
            timeoutMs,
          );
          const waiter = {
            prefix,
            resolve: (text: string) => {
              clearTimeout(timer);
              resolve(text);
            },
          };
          waiters.push(waiter);
          void exited.then(() => {
            if (!waiters.includes(waiter)) return;
            clearTimeout(timer);
            reject(new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before "${prefix}"\n${stderr.slice(-2_000)}`));
          });
        });
      },
    };
    this.procs.add(proc);
    void exited.then(() => this.procs.delete(proc));
    return proc;
  }

  /** A Node process running a TypeScript file from the sources (the `source` condition, tsx). */
  node(name: string, file: string, env: Record<string, string> = {}, options: { ipc?: boolean; nodeArgs?: string[] } = {}): Proc {
    return this.start(name, process.execPath, ['--conditions=source', '--import', 'tsx', ...(options.nodeArgs ?? []), file], env, options);
  }

  /** SIGKILLs everything still running, synchronously: for `process.on('exit')`, where nothing can be awaited. */
  killAllNow(): void {
    for (const proc of this.procs) {
      proc.child.kill('SIGCONT');
      proc.child.kill('SIGKILL');
    }
  }

  /** SIGKILLs everything still running and waits (bounded) for the exits. */
  async killAll(): Promise<void> {
    const procs = [...this.procs];
    for (const proc of procs) {
      // A stopped process cannot die of SIGKILL until it is continued on some kernels' accounting; send both.
      proc.child.kill('SIGCONT');
      proc.child.kill('SIGKILL');
    }
    await Promise.race([Promise.all(procs.map((p) => p.exited)), sleep(5_000)]);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it holds; bounded, since real processes are involved. */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}
