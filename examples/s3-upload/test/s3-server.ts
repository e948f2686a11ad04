import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface S3Server {
  endpoint: string;
  bucket: string;
  /** Takes the server down (its data stays) and back up on the same port: a real outage. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** A real S3 protocol server (s3rver) on a free loopback port with one bucket. */
export async function startS3Server(bucket = 'payloads'): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const make = (port: number) =>
    new S3rver({ address: '127.0.0.1', port, directory, silent: true, configureBuckets: [{ name: bucket, configs: [] }] });
  let server = make(0);
  const { port } = await server.run();
  let running = true;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
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
