import { describe, expect, it } from 'vitest';
import { runsUnderTsx, threadBoot } from '../src/isolation/thread-boot.js';

/** What `tsx app.ts` gives the process it starts (tsx 4). */
const tsxCli = ['--require', '/app/node_modules/tsx/dist/preflight.cjs', '--import', 'file:///app/node_modules/tsx/dist/loader.mjs'];

describe('threadBoot: the loader of a pool thread', () => {
  it('is tsx when the app runs under tsx, even with the core built to JavaScript', () => {
    for (const env of [
      { execArgv: tsxCli, nodeOptions: undefined },
      { execArgv: ['--import', 'tsx'], nodeOptions: undefined },
      { execArgv: [], nodeOptions: '--import=tsx' },
    ]) {
      expect(runsUnderTsx(env)).toBe(true);
      expect(threadBoot(undefined, { fromSources: false, ...env }).data.loader).toMatch(/tsx\/dist\/esm\/api\/index\.mjs$/);
    }
  });

  it('is none for built JavaScript under plain node, and the one given when set', () => {
    expect(runsUnderTsx({ execArgv: ['--enable-source-maps'], nodeOptions: '--max-old-space-size=512' })).toBe(false);
    expect(threadBoot(undefined, { fromSources: false, execArgv: [], nodeOptions: undefined }).data.loader).toBeUndefined();
    expect(threadBoot('file:///loader.mjs', { fromSources: false, execArgv: tsxCli, nodeOptions: undefined }).data.loader).toBe('file:///loader.mjs');
  });
});
