/**
 * `npm run bench`: every benchmark in turn, each in its own process, each printing its peers and
 * ratios. Pass names to run only some: `npm run bench -- dispatch trees`. Never part of `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const benches: Record<string, string[]> = {
  dispatch: ['dispatch.ts', '1000000', '64', '3'],
  trees: ['trees.ts', '3'],
  'http-intake': ['http-intake.ts'],
  'batch-intake': ['batch-intake.ts'],
  'redis-vs-bullmq': ['redis-vs-bullmq.ts'],
  'redis-memory': ['redis-memory.ts'],
  'redis-scale': ['redis-scale.ts'],
  'redis-profile': ['redis-profile.ts'],
  'redis-flow': ['redis-flow.ts'],
  'redis-cost': ['redis-cost.ts'],
  'fair-share': ['fair-share.ts'],
  images: ['images.ts'],
  ml: ['ml.ts'],
  'ml-profile': ['ml-profile.ts'],
  'dashboard-feed': ['dashboard-feed.ts', '200000', '4'],
  'metrics-cost': ['metrics-cost.ts', '200000', '5'],
};

const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : Object.keys(benches);
let failed = 0;
for (const name of names) {
  const args = benches[name];
  if (!args) {
    console.error(`unknown benchmark ${name}; choose from ${Object.keys(benches).join(', ')}`);
    process.exitCode = 2;
    continue;
  }
  console.log(`\n=== ${name} ===`);
  const [file, ...rest] = args;
  const result = spawnSync(process.execPath, ['--conditions=source', '--import', 'tsx', fileURLToPath(new URL(file!, import.meta.url)), ...rest], {
    stdio: 'inherit',
    timeout: 30 * 60_000,
  });
  if (result.status !== 0) failed++;
}
if (failed > 0) process.exitCode = 1;
