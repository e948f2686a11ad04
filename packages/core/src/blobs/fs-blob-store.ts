import { createReadStream, createWriteStream } from 'node:fs';
import { access, mkdir, mkdtemp, readdir, rename, rm, rmdir, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { blobId, blobNotFound, missingBlob, newRefPart, parseBlobId } from './blob-id.js';
import type { BlobPutOptions, BlobRef, BlobStore } from './blob-store.js';
import { ByteMeter } from './byte-meter.js';
import { KeyedLock } from './keyed-lock.js';

export interface FsBlobStoreOptions {
  /** Where blobs live. Default: a fresh directory under the OS temp dir, removed on `close()`. */
  dir?: string;
}

/**
 * Blobs as files, content-addressed: `objects/<sha256>` holds the bytes once, `refs/<sha256>/<ref>`
 * marks each reference. An upload is written to `<ref>.part` and renamed when complete, so a reader
 * never sees half a file and a crash leaves only `.part` files to sweep. References and objects
 * change under a per-digest lock, so in one process a `put` and the last `remove` of the same
 * bytes cannot race. Only this machine can read these: with several machines, use
 * `createS3BlobStore` from `@scalable-api/core/s3`.
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
  private readonly lock = new KeyedLock();

  constructor(
    readonly dir: string,
    private readonly owned: boolean,
  ) {}

  async put(source: Readable, options: BlobPutOptions): Promise<BlobRef> {
    const ref = newRefPart();
    const part = join(this.dir, `${ref}.part`);
    const meter = new ByteMeter(options.maxBytes);
    try {
      // pipeline() honours back-pressure end to end and destroys every stream on the first
      // error, including a client that disconnects mid-upload ('aborted' on the request).
      await pipeline(source, meter, createWriteStream(part, { flags: 'wx' }));
    } catch (error) {
      await unlink(part).catch(() => {});
      throw error;
    }
    const sha256 = meter.digest();
    await this.lock.run(sha256, async () => {
      await mkdir(join(this.dir, 'refs', sha256), { recursive: true });
      await writeFile(join(this.dir, 'refs', sha256, ref), '', { flag: 'wx' });
      const object = this.objectPath(sha256);
      if (await exists(object)) await unlink(part);
      else {
        await mkdir(join(this.dir, 'objects'), { recursive: true });
        await rename(part, object);
      }
    });
    return { id: blobId(sha256, ref), size: meter.bytes, contentType: options.contentType, sha256 };
  }

  open(id: string): Readable {
    // An id that cannot be a blob id (a path, say) is never joined to the directory.
    const parts = parseBlobId(id);
    if (!parts) return missingBlob(id);
    const marker = join(this.dir, 'refs', parts.sha256, parts.ref);
    const object = this.objectPath(parts.sha256);
    return Readable.from(
      (async function* () {
        if (!(await exists(marker))) throw blobNotFound(id);
        yield* createReadStream(object);
      })(),
      { objectMode: false },
    );
  }

  async remove(id: string): Promise<void> {
    const parts = parseBlobId(id);
    if (!parts) return;
    await this.lock.run(parts.sha256, async () => {
      const refs = join(this.dir, 'refs', parts.sha256);
      await rm(join(refs, parts.ref), { force: true });
      const left = await readdir(refs).catch(() => []);
      if (left.length > 0) return;
      await rmdir(refs).catch(() => {});
      await rm(this.objectPath(parts.sha256), { force: true });
    });
  }

  async close(): Promise<void> {
    if (this.owned) await rm(this.dir, { recursive: true, force: true });
  }

  private objectPath(sha256: string): string {
    return join(this.dir, 'objects', sha256);
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
