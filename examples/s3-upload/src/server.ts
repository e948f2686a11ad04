import { configFromEnv, createUploadService } from './upload-app.js';

const config = configFromEnv();
const { app, shutdown } = await createUploadService(config);
await app.listen({ port: config.port, host: config.host });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : config.port;
process.stdout.write(`s3-upload listening on http://${config.host}:${port} (${config.workers} workers, s3://${config.bucket})\n`);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    shutdown(25_000).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
