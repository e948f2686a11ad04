import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile, copyFile, mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithRedis, redisUrl } from '../../packages/redis/test/redis-fixture.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

/**
 * npm passes its configuration to scripts as npm_* variables (the workspace, the prefix, ...);
 * the fresh project must see none of them, exactly like a user's shell.
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key) && key !== 'NODE_OPTIONS') env[key] = value;
  return { ...env, ...extra };
}

/** The workspace's publishable packages (not private), read from their package.json. */
async function publicPackages(): Promise<{ dir: string; name: string; version: string }[]> {
  const out = [];
  for (const entry of await readdir(join(root, 'packages'))) {
    const manifest = JSON.parse(await readFile(join(root, 'packages', entry, 'package.json'), 'utf8')) as {
      name: string;
      version: string;
      private?: boolean;
    };
    if (!manifest.private) out.push({ dir: `packages/${entry}`, name: manifest.name, version: manifest.version });
  }
  return out;
}

let project: string;
let tarballs: string[];

/**
 * What a user does: `npm pack` each package (prepack builds it), install the tarballs into a new
 * project outside the workspace, type-check an app against the installed types with
 * `skipLibCheck: false`, and run it. npm installs from its local cache where it can
 * (`--prefer-offline`): after the workspace's `npm ci` every third-party package is there.
 */
beforeAll(async () => {
  const base = await mkdtemp(join(tmpdir(), 'scalable-api-install-'));
  project = join(base, 'app');
  const packed = join(base, 'tarballs');
  await mkdir(project);
  await mkdir(packed);
  const packages = await publicPackages();
  const workspaces = packages.flatMap((p) => ['-w', p.dir]);
  await run('npm', ['pack', ...workspaces, '--pack-destination', packed, '--silent'], { cwd: root, env: cleanEnv(), maxBuffer: 16 * 1_048_576 });
  tarballs = (await readdir(packed)).filter((f) => f.endsWith('.tgz')).map((f) => join(packed, f));
  expect(tarballs).toHaveLength(packages.length);

  const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
  const pinned = (name: string) => `${name}@${lock.packages[`node_modules/${name}`]!.version}`;
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'my-app', private: true, type: 'module' }, null, 2));
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noUncheckedIndexedAccess: true,
        // Every installed declaration file is checked. (Not exactOptionalPropertyTypes: xstate's own
        // declarations fail under it with skipLibCheck off, whatever this project ships.)
        skipLibCheck: false,
        types: ['node'],
        outDir: 'dist',
      },
      include: ['src'],
    }),
  );
  await mkdir(join(project, 'src'));
  await copyFile(fileURLToPath(new URL('./app/app.ts', import.meta.url)), join(project, 'src', 'app.ts'));
  // The tarballs in one command, as the docs say; the peers a user installs beside them. No
  // optional peer (AWS SDK, vitest) is installed: the types must not need them.
  await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--ignore-scripts',
      ...tarballs,
      pinned('fastify'),
      pinned('zod'),
      pinned('@types/node'),
    ],
    { cwd: project, env: cleanEnv(), maxBuffer: 16 * 1_048_576 },
  );
}, 300_000);

afterAll(async () => {
  if (project) await rm(join(project, '..'), { recursive: true, force: true });
});

describe('the packed packages', () => {
  it('install from their tarballs without the optional peers, whose types are then not needed', async () => {
    const installed = await readdir(join(project, 'node_modules'));
    expect(installed).not.toContain('@aws-sdk');
    // (@opentelemetry/api does come, as a dependency of prom-client; the core's ./otel entry is still optional.)
    expect(installed).not.toContain('vitest');
    for (const name of ['core', 'http-adapter', 'redis', 'client']) {
      const manifest = JSON.parse(await readFile(join(project, 'node_modules', '@scalable-api', name, 'package.json'), 'utf8')) as {
        version: string;
      };
      expect(manifest.version).toBe('0.1.0');
    }
  });

  it('type-check a small app with skipLibCheck false, and a wrong input is a type error', async () => {
    // A failure prints tsc's diagnostics in the assertion message.
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project, env: cleanEnv() }).catch(
      (error: Error & { stdout?: string }) => ({
        stdout: `tsc failed:\n${error.stdout ?? error.message}`,
      }),
    );
    expect(result.stdout).toBe('');
  });

  it('run the app on the memory store: submit, result, the plugin mounted, the typed client against it', async () => {
    const { stdout } = await run(process.execPath, ['dist/app.js'], { cwd: project, env: cleanEnv(), timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual({
      sum: 3,
      http: { status: 200, body: expect.objectContaining({ status: 'completed', output: { sum: 5 } }) },
      health: 200,
      durable: false,
      ticked: true,
      client: { sum: 42, last: 'job.completed' },
    });
  });
});

await describeWithRedis('the packed packages on Redis', () => {
  it('run the same app on the Redis store', async () => {
    const env = cleanEnv({ REDIS_URL: redisUrl, REDIS_PREFIX: `sa-install-${randomUUID().slice(0, 8)}` });
    const { stdout } = await run(process.execPath, ['dist/app.js'], { cwd: project, env, timeout: 60_000 });
    expect(JSON.parse(stdout)).toEqual({
      sum: 3,
      http: { status: 200, body: expect.objectContaining({ status: 'completed', output: { sum: 5 } }) },
      health: 200,
      durable: true,
      ticked: true,
      client: { sum: 42, last: 'job.completed' },
    });
  });
});
