import { createWebSocketInspector } from '@statelyai/inspect';
import { createInspectorServer } from '@statelyai/inspect/server';
import { configFromEnv, createQuickstart } from '../../quickstart/src/quickstart-app.js';

// The quickstart, with every actor streamed to the Stately inspector: the supervisor, the
// dispatcher, each worker, and each parent job while it waits for its children. The inspector
// server is a small bridge: it takes inspection events over a WebSocket and hands them to the
// inspector UI (stately.ai/inspect) in an iframe of the page it serves.
const inspectPort = Number(process.env['INSPECT_PORT'] ?? 8080);
const bridge = createInspectorServer({ port: inspectPort, autoOpen: process.env['INSPECT_OPEN'] === '1' });
const inspector = createWebSocketInspector({ url: `ws://127.0.0.1:${inspectPort}` });

// Few workers by default: each is an actor on the inspector's canvas.
const config = { ...configFromEnv(), workers: Number(process.env['WORKERS'] ?? 4) };
const { app, shutdown } = await createQuickstart({ ...config, inspect: inspector.inspect });
await app.listen({ port: config.port, host: config.host });

const base = `http://${config.host}:${config.port}`;
process.stdout.write(
  `quickstart on ${base} with the Stately inspector: open http://localhost:${inspectPort}\n` +
    `  a tree to watch: curl -s -X POST ${base}/jobs/fanout -H 'content-type: application/json' -d '{"depth":2,"width":3}'\n` +
    `  the dashboard:   ${base}/jobs/dashboard\n`,
);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    shutdown(5_000)
      .finally(() => {
        inspector.stop();
        bridge.stop();
      })
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  });
}
