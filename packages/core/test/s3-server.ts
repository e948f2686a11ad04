import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import type { S3ClientConfig } from '@aws-sdk/client-s3';

export interface S3Server {
  endpoint: string;
  port: number;
  bucket: string;
  clientConfig: S3ClientConfig;
  /** Stops the server (the data stays, so `restart()` serves it again on the same port). */
  stop(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real S3 protocol server (s3rver) on a free loopback port, with one bucket. Path-style
 * addressing because there is no DNS for bucket subdomains on 127.0.0.1; the SDK's optional
 * checksums are limited to what S3 requires because s3rver predates them.
 */
export async function startS3Server(bucket = 'blobs'): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const make = (port: number) =>
    new S3rver({ address: '127.0.0.1', port, directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  let server = make(0);
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    bucket,
    clientConfig: {
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    },
    stop: () => server.close(),
    async restart() {
      server = make(port);
      await server.run();
    },
    async close() {
      await server.close().catch(() => {});
      await rm(directory, { recursive: true, force: true });
    },
  };
}
