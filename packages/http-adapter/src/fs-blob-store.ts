import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { blobIdPattern, type BlobPutOptions, type BlobRef, type BlobStore } from './blob-store.js';
import { HttpProblemError } from './problem.js';

export interface FsBlobStoreOptions {
  /** Where blobs live. Default: a fresh directory under the OS temp dir, removed on `close()`. */
  dir?: string;
}

/**
 * Blobs as files. A blob is written to `<id>.part` and renamed when complete, so a reader never
 * sees half a file and a crash leaves only `.part` files to sweep. Only one process can read
 * these: with a store shared by several machines, use an object store instead.
 *
 * @example
 * const blobs = await createFsBlobStore();
 * await app.register(jobsPlugin, { system, prefix: '/jobs', blobs });
 */
export async function createFsBlobStore(options: FsBlobStoreOptions = {}): Promise<BlobStore> {
  const owned = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'scalable-api-blobs-')));
  if (!owned) await mkdir(dir, { recursive: true });
  return new FsBlobStore(dir, owned);
}

class FsBlobStore implements BlobStore {
  constructor(
    readonly dir: string,
    private readonly owned: boolean,
  ) {}

  async put(source: Readable, options: BlobPutOptions): Promise<BlobRef> {
    const id = randomBytes(16).toString('base64url');
    const part = join(this.dir, `${id}.part`);
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        size += chunk.length;
        if (size > options.maxBytes) {
          callback(new HttpProblemError('PAYLOAD_TOO_LARGE', `The body is larger than ${options.maxBytes} bytes.`));
          return;
        }
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    try {
      // pipeline() honours back-pressure end to end and destroys every stream on the first
      // error, including a client that disconnects mid-upload ('aborted' on the request).
      await pipeline(source, meter, createWriteStream(part, { flags: 'wx' }));
      await rename(part, join(this.dir, id));
    } catch (error) {
      await unlink(part).catch(() => {});
      throw error;
    }
    return { id, size, contentType: options.contentType, sha256: hash.digest('hex') };
  }

  open(id: string): Readable {
    // An id that cannot be a blob id (a path, say) is never joined to the directory; it errors
    // the same way a missing blob does, when read.
    if (!blobIdPattern.test(id)) {
      return new Readable({
        read() {
          this.destroy(Object.assign(new Error(`blob ${JSON.stringify(id.slice(0, 64))} not found`), { code: 'ENOENT' }));
        },
      });
    }
    return createReadStream(join(this.dir, id));
  }

  async remove(id: string): Promise<void> {
    if (!blobIdPattern.test(id)) return;
    await rm(join(this.dir, id), { force: true });
  }

  async close(): Promise<void> {
    if (this.owned) await rm(this.dir, { recursive: true, force: true });
  }
}
