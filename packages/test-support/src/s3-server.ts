// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- s3rver ships no types; this ambient declaration is its only typing
/// <reference path="./s3rver.d.ts" />
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import S3rver from 's3rver';

export interface S3Server {
  endpoint: string;
  port: number;
  bucket: string;
  /** Path-style, s3rver's fixed credentials, only the checksums S3 requires. */
  clientConfig: S3ClientConfig;
  /** Takes the server down (its data stays) and drops open connections at once: a real outage. */
  stop(): Promise<void>;
  /** Back up on the same port, serving the same data. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A real S3 protocol server (s3rver) on a free loopback port, with one bucket: the one copy the
 * core's S3 tests, the examples' tests and the image bench share. Path-style addressing because
 * there is no DNS for bucket subdomains on 127.0.0.1; the SDK's optional checksums are limited to
 * what S3 requires because s3rver predates them.
 *
 * @example
 * const s3 = await startS3Server('images');
 * const blobs = await createS3BlobStore({ bucket: s3.bucket, clientConfig: s3.clientConfig });
 * await s3.close();
 */
export async function startS3Server(bucket = 'blobs'): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const make = (port: number) =>
    new S3rver({ address: '127.0.0.1', port, directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  let server = make(0);
  const { port } = await server.run();
  let running = true;
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
    async stop() {
      running = false;
      // close() alone waits for idle keep-alive sockets; an outage drops them at once.
      const closing = server.close();
      server.httpServer?.closeAllConnections();
      await closing;
    },
    async restart() {
      server = make(port);
      await server.run();
      running = true;
    },
    async close() {
      if (running) await server.close().catch(() => {});
      await rm(directory, { recursive: true, force: true });
    },
  };
}
