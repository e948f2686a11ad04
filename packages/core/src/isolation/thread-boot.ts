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

export function threadBoot(loader: string | undefined): ThreadBoot {
  const entry = new URL(fromSources ? './thread-main.ts' : './thread-main.js', import.meta.url).href;
  return {
    code,
    data: { loader: loader ?? (fromSources ? tsxLoader() : undefined), entry },
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
    const cjs = createRequire(import.meta.url).resolve('tsx/esm/api');
    tsx = pathToFileURL(cjs.replace(/\.cjs$/, '.mjs')).href;
    return tsx;
  } catch (error) {
    throw new Error(
      'Thread jobs run from TypeScript sources need tsx installed (or threads.loader set): a worker thread cannot load .ts files by itself.',
      { cause: error },
    );
  }
}
