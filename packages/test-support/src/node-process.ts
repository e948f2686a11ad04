import { spawn, type ChildProcess } from 'node:child_process';
import { inspect } from 'node:util';

/** A job-system node in its own process (a test fixture run from its TypeScript source). */
export interface NodeProcess {
  id: string;
  child: ChildProcess;
  /** Resolves once the node printed `READY`; rejects if it exits before. */
  ready: Promise<void>;
}

/**
 * Starts `fixture` with tsx and the `source` condition (the workspace's packages from their
 * sources, no build), `env` over this process's environment. The fixture prints `READY` once it
 * takes work; every other line of its stdout goes to `onLine` (what it reports: jobs started,
 * beats). Its stderr is this process's, so a crash shows in the test output.
 */
export function startNodeProcess(id: string, fixture: string, env: Record<string, string>, onLine: (line: string) => void = () => {}): NodeProcess {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', fixture], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line === 'READY') resolve();
        else onLine(line);
      }
    });
    child.once('exit', (code) => reject(new Error(`node ${id} exited with ${code} before it was ready`)));
  });
  return { id, child, ready };
}

/**
 * Ends a node that is still running: SIGTERM, then SIGKILL once it exited or `graceMs` passed
 * (a node that hangs in its shutdown must not hold the test). `graceMs` 0: SIGKILL at once.
 */
export async function stopNodeProcess(node: NodeProcess, graceMs = 5_000): Promise<void> {
  const { child } = node;
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (graceMs > 0) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, graceMs))]);
  }
  child.kill('SIGKILL');
}

/**
 * Resolves once `check` holds. Polls every 50 ms in real time, bounded, since real processes are
 * involved. A check that throws (a connection not back yet) has not held yet; if it still throws
 * at the deadline, the timeout says what it threw.
 */
export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let thrown: unknown;
  const holds = async () => {
    try {
      const held = await check();
      thrown = undefined;
      return held;
    } catch (error) {
      thrown = error;
      return false;
    }
  };
  while (!(await holds())) {
    if (Date.now() > deadline) {
      const why = thrown === undefined ? '' : ` (the check threw: ${thrown instanceof Error ? thrown.message : inspect(thrown)})`;
      throw new Error(`timed out waiting for ${what}${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * The fixture's side: tells the test it is up (`READY` on stdout, what `startNodeProcess` waits
 * for), and on SIGTERM stops its job system without draining, closes its store and exits.
 * Typed by the calls it makes, so test-support does not depend on the packages under test.
 */
export function serveNode(system: { stop(options: { drain: boolean; timeoutMs: number }): Promise<void> }, store: { close(): Promise<void> }): void {
  process.stdout.write('READY\n');
  process.on('SIGTERM', () => {
    void system.stop({ drain: false, timeoutMs: 2_000 }).then(async () => {
      await store.close();
      process.exit(0);
    });
  });
}
