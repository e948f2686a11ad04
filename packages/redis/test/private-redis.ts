import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether this machine can start Redis servers of its own (for configurations a shared Redis must not get). */
export const canStartRedis = spawnSync('redis-server', ['--version']).status === 0;

export interface PrivateRedis {
  port: number;
  stop(): void;
}

/** A port unlikely to be taken (and whose cluster bus port, +10,000, is free as well). */
export function randomPort(): number {
  return 17_000 + Math.floor(Math.random() * 2_000);
}

/** Starts a throwaway `redis-server` on loopback with the given settings; resolves once it answers. */
export async function startRedisServer(settings: string[], port = randomPort()): Promise<PrivateRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'sa-redis-'));
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...settings],
    {
      stdio: 'ignore',
    },
  );
  for (let i = 0; i < 100 && spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() !== 'PONG'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    stop() {
      server.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
