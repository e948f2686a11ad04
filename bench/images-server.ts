/**
 * One variant of the images benchmark in its own process: the image pipeline of
 * examples/image-pipeline with resizing `inline` or in `thread:<n>` worker threads, storing in the S3 server whose
 * endpoint the driver passes. Prints `READY <port>`; SIGTERM stops it.
 */
import { createImagePipeline } from '@scalable-api/example-image-pipeline';

// `inline`, or `thread:<n>` for n worker threads.
const [mode, threads] = (process.argv[2] ?? 'thread:2').split(':');
const isolation = mode === 'inline' ? 'inline' : 'thread';
const pipeline = await createImagePipeline({
  workers: Number(process.env['WORKERS'] ?? 8),
  queueLimit: 1_000,
  threads: Number(threads ?? 2),
  isolation,
  s3: {
    kind: 's3',
    bucket: process.env['S3_BUCKET']!,
    prefix: `${isolation}-${process.pid}/`,
    endpoint: process.env['S3_ENDPOINT']!,
    compatible: true,
  },
  widths: [64, 256, 1024],
  maxPixels: 40_000_000,
  maxUploadBytes: 20 * 1_048_576,
  // The resize pipeline alone, comparable with the figures recorded before moderation existed;
  // the model's own figures are bench/ml.ts's.
  moderation: false,
  logger: false,
});
await pipeline.app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`READY ${(pipeline.app.server.address() as { port: number }).port}\n`);
process.once('SIGTERM', () => {
  pipeline.shutdown(10_000).then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
