import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Cluster, Redis } from 'ioredis';
import { describe, it } from 'vitest';
import { redisAnswers } from '@scalable-api/test-support/redis-admin';
import { canStartRedis } from './private-redis.js';

/** A `redis-server` of the test's own: crashed and restarted on the same port and directory (so it replays its AOF). */
export interface ShardServer {
  port: number;
  url: string;
  /** SIGKILL, what a crash looks like; the data directory stays. */
  crash(): Promise<void>;
  restart(): Promise<void>;
  /** Calls per command since the start (`INFO commandstats`), summed over every command. */
  commandCalls(): Promise<number>;
  /** `used_cpu_sys + used_cpu_user` in seconds (`INFO cpu`). */
  cpuSeconds(): Promise<number>;
  stop(): Promise<void>;
}

let nextPort = 20_000 + Math.floor(Math.random() * 8_000);

/**
 * Starts `count` independent servers on spare loopback ports, with the AOF fsynced on every write
 * by default (a crash loses nothing that was acknowledged). A port something already answers on
 * is skipped.
 */
export async function startShardServers(
  count: number,
  settings: string[] = ['--appendonly', 'yes', '--appendfsync', 'always'],
): Promise<ShardServer[]> {
  const servers: ShardServer[] = [];
  try {
    for (let i = 0; i < count; i++) servers.push(await startShardServer(settings));
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()));
    throw error;
  }
  return servers;
}

async function startShardServer(settings: string[]): Promise<ShardServer> {
  let port = nextPort++;
  // The port, and for a Cluster node its bus port (+10,000), must be free.
  while ((await answers(port)) || (await answers(port + 10_000))) port = nextPort++;
  const dir = mkdtempSync(join(tmpdir(), 'sa-shard-'));
  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--maxmemory-policy', 'noeviction', ...settings],
      {
        stdio: 'ignore',
      },
    );
    for (let i = 0; i < 200 && !(await answers(port)); i++) await new Promise((resolve) => setTimeout(resolve, 25));
    if (!(await answers(port))) throw new Error(`redis-server did not start on port ${port}`);
  };
  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  const info = async (section: string) => {
    const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      return await client.info(section);
    } finally {
      client.disconnect();
    }
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    crash: kill,
    restart: launch,
    async commandCalls() {
      let calls = 0;
      for (const match of (await info('commandstats')).matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) calls += Number(match[1]);
      return calls;
    },
    async cpuSeconds() {
      const text = await info('cpu');
      return Number(/used_cpu_sys:([\d.]+)/.exec(text)?.[1]) + Number(/used_cpu_user:([\d.]+)/.exec(text)?.[1]);
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function answers(port: number): Promise<boolean> {
  // While an AOF loads Redis answers LOADING: up once PING works.
  return redisAnswers(new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 }));
}

/**
 * Runs `suite` when this machine can start redis-server processes. Under CI it must: a missing
 * server is then a failing test, never a skip.
 */
export function describeWithServers(name: string, suite: () => void): void {
  if (canStartRedis && spawnSync('redis-cli', ['--version']).status === 0) {
    describe(name, suite);
    return;
  }
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('needs redis-server and redis-cli', () => {
        throw new Error('redis-server/redis-cli are not installed; CI must provide them.');
      });
    });
    return;
  }
  console.warn(`\n!!! ${name}: SKIPPED — redis-server is not installed. CI would fail here. !!!\n`);
  describe.skip(name, suite);
}

export interface ShardCluster {
  nodes: { host: string; port: number }[];
  servers: ShardServer[];
  stop(): Promise<void>;
}

/** A Redis Cluster of `masters` masters and no replicas, on spare loopback ports, as `redis-cli --cluster create` lays it out. */
export async function startShardCluster(masters: number): Promise<ShardCluster> {
  const servers = await startShardServers(masters, ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--appendonly', 'no']);
  const nodes = servers.map((s) => ({ host: '127.0.0.1', port: s.port }));
  const stop = () => Promise.all(servers.map((s) => s.stop())).then(() => undefined);
  const create = spawnSync(
    'redis-cli',
    ['--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
    {
      encoding: 'utf8',
    },
  );
  if (create.status !== 0) {
    await stop();
    throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
  }
  // Usable once every node agrees that all slots are covered.
  for (const node of nodes) {
    const client = new Redis(node.port, node.host);
    try {
      for (let i = 0; i < 200 && !String(await client.cluster('INFO')).includes('cluster_state:ok'); i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.disconnect();
    }
  }
  return { nodes, servers, stop };
}

/** A client of the cluster as the store wants it: sharded pub/sub on. */
export function clusterClient(cluster: ShardCluster): Cluster {
  return new Cluster(cluster.nodes, { shardedSubscribers: true });
}
