import { defineConfig } from 'vitest/config';

/**
 * The test projects, one per package. vitest 4 no longer picks up a workspace file by itself, so
 * `npm test` passes this file with `--config`; `passWithNoTests: false` makes a run that collects
 * nothing fail instead of passing silently.
 *
 * The `source` condition resolves `@scalable-api/*` to their TypeScript sources, so tests need no
 * build step.
 */
const source = { resolve: { conditions: ['source'] }, ssr: { resolve: { conditions: ['source'] } } };

export default defineConfig({
  test: {
    passWithNoTests: false,
    reporters: ['default', './vitest.summary-reporter.ts'],
    projects: [
      {
        ...source,
        test: {
          name: 'core',
          root: 'packages/core',
          include: ['test/**/*.test.ts'],
          // Not a speed bound: the 10,000-child fan-in and the property tests need headroom on a
          // busy 2-core machine, where 5 s was once not enough.
          testTimeout: 30_000,
          typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: 'test/tsconfig.json' },
        },
      },
      {
        ...source,
        test: { name: 'http-adapter', root: 'packages/http-adapter', include: ['test/**/*.test.ts'], testTimeout: 30_000 },
      },
      {
        ...source,
        test: {
          name: 'client',
          root: 'packages/client',
          include: ['test/**/*.test.ts'],
          testTimeout: 30_000,
          typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: 'test/tsconfig.json' },
        },
      },
      {
        ...source,
        test: { name: 'redis', root: 'packages/redis', include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
      },
      {
        ...source,
        test: { name: 'image-pipeline', root: 'examples/image-pipeline', include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
      },
      {
        // No `source` condition: this project packs the packages and installs the tarballs
        // into a fresh project outside the workspace, as a user would (docs/install.md).
        test: { name: 'install', root: 'test/install', include: ['**/*.test.ts'], testTimeout: 120_000, hookTimeout: 300_000 },
      },
      {
        ...source,
        test: { name: 's3-upload', root: 'examples/s3-upload', include: ['test/**/*.test.ts'], testTimeout: 60_000, hookTimeout: 60_000 },
      },
    ],
  },
});
