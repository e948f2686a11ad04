import { configFromEnv, createImagePipeline } from './pipeline-app.js';

const config = configFromEnv();
const { app, shutdown } = await createImagePipeline(config);
await app.listen({ port: config.port, host: config.host });
const address = app.server.address();
const port = typeof address === 'object' && address ? address.port : config.port;
process.stdout.write(
  `image pipeline listening on http://${config.host}:${port} (${config.workers} workers, ${config.threads} threads, ${config.isolation}, ` +
    `${config.s3 ? `s3://${config.s3.bucket}` : 'temp-dir blobs'})\n` +
    `  try: curl -si -X POST http://${config.host}:${port}/images/image -H 'content-type: image/png' --data-binary @photo.png\n`,
);
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    shutdown(25_000).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
