import { configFromEnv, createQuickstart } from './quickstart-app.js';

const config = configFromEnv();
const { app, shutdown } = await createQuickstart(config);
if (config.role === 'worker') {
  process.stdout.write(`scalable-api quickstart worker node: ${config.workers} workers on the Redis store, no HTTP\n`);
} else {
  await listen();
}

async function listen(): Promise<void> {
  await app.listen({ port: config.port, host: config.host });

  // The bound port, not the configured one: PORT=0 picks a free port (tests do).
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const base = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  const servers = config.redisUrl?.split(',').filter((u) => u.trim() !== '').length ?? 0;
  const shards = config.redisShards ?? (servers > 1 ? servers : undefined);
  const store = !config.redisUrl
    ? 'memory'
    : shards === undefined
      ? 'redis'
      : `redis, ${shards} shards on ${servers} server${servers === 1 ? '' : 's'}`;
  const workers = config.role === 'api' ? 'api node, no workers' : `${config.workers} workers`;
  process.stdout.write(
    `scalable-api quickstart listening on ${base} (${workers}, queue limit ${config.queueLimit}, ${store} store)\n` +
      `  try: curl -si -X POST ${base}/jobs/echo -H 'content-type: application/json' -H 'prefer: wait=5' -d '{"hello":"world"}'\n` +
      `  docs: ${base}/jobs/openapi.json   ready: ${base}/ready   metrics: ${base}/metrics\n` +
      (config.dashboard ? `  dashboard: ${base}/jobs/dashboard\n` : ''),
  );
}

// SIGTERM (orchestrators) and SIGINT (Ctrl-C): stop taking work, drain, close. A second signal
// while draining exits at once.
let signalled = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (signalled) process.exit(1);
    signalled = true;
    app.log.info({ signal, graceMs: config.graceMs }, 'shutting down: draining accepted jobs');
    shutdown(config.graceMs).then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
