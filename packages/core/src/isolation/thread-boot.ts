import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { ThreadBootData } from './thread-protocol.js';

/**
 * How a pool thread starts. From built JavaScript it simply imports `thread-main.js`. From
 * TypeScript sources (tests, `tsx` in development) it must first register a TypeScript loader:
 * Node 20 does not carry the parent's `--import tsx` hooks into worker threads, and a thread given
 * `execArgv: ['--import', 'tsx']` still refuses `.ts` files. So the thread is an eval'd bootstrap
 * that imports the loader's register entry, then the real main module.
 */
export interface ThreadBoot {
  code: string;
  data: ThreadBootData;
  execArgv: string[];
}

const fromSources = import.meta.url.endsWith('.ts');

// CommonJS because eval'd workers are scripts; the dynamic import() reaches ESM from there.
const code = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.loader) {
    const loader = await import(workerData.loader);
    if (typeof loader.register === 'function') loader.register();
  }
  await import(workerData.entry);
})().catch((error) => { setImmediate(() => { throw error; }); });
`;

/** Where this process runs from: read once, given explicitly in tests. */
export interface BootEnvironment {
  /** The core itself runs from its TypeScript sources. */
  fromSources: boolean;
  execArgv: readonly string[];
  nodeOptions: string | undefined;
}

const thisProcess: BootEnvironment = { fromSources, execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS };

/**
 * Whether the app runs under tsx (`tsx app.ts`, `node --import tsx`, `NODE_OPTIONS=--import=tsx`):
 * its thread modules are then TypeScript files named `.js` in `new URL('./task.js', import.meta.url)`,
 * which a thread can load only with tsx's loader too — even when the core itself is built JavaScript.
 */
export function runsUnderTsx(env: Pick<BootEnvironment, 'execArgv' | 'nodeOptions'>): boolean {
  const isTsx = (arg: string) => /(^|[\\/=\s])tsx([\\/\s]|$)/.test(arg);
  return env.execArgv.some(isTsx) || (env.nodeOptions !== undefined && isTsx(env.nodeOptions));
}

export function threadBoot(loader: string | undefined, env: BootEnvironment = thisProcess): ThreadBoot {
  const entry = new URL(fromSources ? './thread-main.ts' : './thread-main.js', import.meta.url).href;
  return {
    code,
    data: { loader: loader ?? (env.fromSources || runsUnderTsx(env) ? tsxLoader() : undefined), entry },
    // Sources resolve workspace packages through the `source` export condition (as the tests do),
    // so a task module importing `@scalable-api/*` gets the same code in the thread.
    execArgv: fromSources ? ['--conditions=source'] : [],
  };
}

let tsx: string | undefined;

/** tsx's ESM register entry, resolved from here (a dev dependency wherever sources run). */
function tsxLoader(): string {
  if (tsx) return tsx;
  try {
    // The `require` condition resolves to the CommonJS build, whose register() cannot load the
    // ESM hooks inside a thread; the ESM build sits beside it.
    // From here (a dev dependency where sources run, the app's own tsx otherwise), else from the app's folder.
    const cjs = resolveFrom(import.meta.url) ?? resolveFrom(pathToFileURL(`${process.cwd()}/`).href);
    if (!cjs) throw new Error('tsx/esm/api not found');
    tsx = pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
    return tsx;
  } catch (error) {
    throw new Error(
      "Thread jobs run from TypeScript need tsx installed where the app can resolve it, or threads.loader set to a loader's register module (for tsx: import.meta.resolve('tsx/esm/api')): a worker thread cannot load .ts files by itself.",
      { cause: error },
    );
  }
}

function resolveFrom(base: string): string | undefined {
  try {
    return createRequire(base).resolve('tsx/esm/api');
  } catch {
    return undefined;
  }
}
