import { Readable } from 'node:stream';
import type * as S3 from '@aws-sdk/client-s3';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type * as Storage from '@aws-sdk/lib-storage';
import { blobId, blobNotFound, missingBlob, newRefPart, parseBlobId } from '../blobs/blob-id.js';
import type { BlobPutOptions, BlobRef, BlobStore } from '../blobs/blob-store.js';
import { ByteMeter } from '../blobs/byte-meter.js';
import { KeyedLock } from '../blobs/keyed-lock.js';

export interface S3BlobStoreOptions {
  bucket: string;
  /** Prepended to every key (e.g. `'blobs/'`), so one bucket can hold several systems. Default none. */
  prefix?: string;
  /** A client of your own (it is not destroyed on `close()`), or the config for one we create. */
  client?: S3Client;
  clientConfig?: S3ClientConfig;
  /** Multipart part size in bytes, at least 5 MiB (the S3 minimum). Default 8 MiB. */
  partSize?: number;
  /** Parts uploaded at once per blob; memory per upload is at most `partSize * queueSize`. Default 2. */
  queueSize?: number;
}

type S3Module = typeof S3;
type StorageModule = typeof Storage;

/**
 * Blobs in any S3-compatible object store, readable by every node of a system. Content-addressed:
 * `objects/<sha256>` holds the bytes once, `refs/<sha256>/<ref>` marks each reference.
 *
 * A body that fits in one part is hashed first and stored straight under its object key, unless
 * the object exists already (dedupe: the duplicate is never uploaded). A larger body streams to
 * `uploads/<ref>` with a multipart upload (`@aws-sdk/lib-storage`), hashing on the way, so memory
 * stays at `partSize * queueSize` whatever the size; once the digest is known, the upload is
 * copied server-side to its object key unless that exists, and deleted. Every part is a buffer,
 * so the SDK's retry strategy resends a part whose connection broke. Each reference is a marker
 * object, written before the bytes are.
 *
 * The last `remove` of some bytes deletes the object; within a process that is serialized with
 * `put` per digest. Across processes S3 offers no lock: a `put` of the very same bytes whose
 * marker lands between another node's last `remove` listing the references and deleting the
 * object is left pointing at nothing (reads give ENOENT, never wrong bytes); docs/large-payloads.md
 * gives the rule.
 *
 * Imported from `@scalable-api/core/s3`, so the root entry's types never name the AWS SDK;
 * its packages are optional peers, loaded only when this store is created.
 *
 * @example
 * const blobs = await createS3BlobStore({
 *   bucket: 'uploads',
 *   clientConfig: { region: 'eu-west-1' },
 * });
 */
export async function createS3BlobStore(options: S3BlobStoreOptions): Promise<BlobStore> {
  const [s3, storage] = await Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]);
  const partSize = options.partSize ?? 8 * 1_048_576;
  if (partSize < 5 * 1_048_576) throw new TypeError('createS3BlobStore: partSize must be at least 5 MiB (the S3 minimum)');
  const owned = options.client === undefined;
  const client = options.client ?? new s3.S3Client(options.clientConfig ?? {});
  return new S3BlobStore(s3, storage, client, owned, options.bucket, options.prefix ?? '', partSize, options.queueSize ?? 2);
}

class S3BlobStore implements BlobStore {
  private readonly lock = new KeyedLock();

  constructor(
    private readonly s3: S3Module,
    private readonly storage: StorageModule,
    private readonly client: S3Client,
    private readonly owned: boolean,
    private readonly bucket: string,
    private readonly prefix: string,
    private readonly partSize: number,
    private readonly queueSize: number,
  ) {}

  async put(source: Readable, options: BlobPutOptions): Promise<BlobRef> {
    const ref = newRefPart();
    const meter = new ByteMeter(options.maxBytes);
    // A failing source (a client that disconnects) must fail the upload, not leave it waiting.
    source.once('error', (error) => meter.destroy(error));
    source.pipe(meter);
    // Bodies that fit in one part are read whole first: their digest is then known before any
    // request, so a duplicate costs no upload and a new one goes straight to its object key
    // (3 requests instead of the 5 of upload-then-copy). Larger bodies stream as multipart.
    const chunks = meter[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const head: Buffer[] = [];
    let buffered = 0;
    let ended = false;
    try {
      while (buffered < this.partSize) {
        const next = await chunks.next();
        if (next.done) {
          ended = true;
          break;
        }
        head.push(next.value);
        buffered += next.value.length;
      }
    } catch (error) {
      source.unpipe(meter);
      source.destroy();
      throw error;
    }
    if (ended) return this.putSmall(Buffer.concat(head, buffered), ref, meter, options);
    return this.putLarge(head, chunks, ref, meter, source, options);
  }

  private async putSmall(body: Buffer, ref: string, meter: ByteMeter, options: BlobPutOptions): Promise<BlobRef> {
    const sha256 = meter.digest();
    await this.lock.run(sha256, async () => {
      await this.client.send(
        new this.s3.PutObjectCommand({ Bucket: this.bucket, Key: this.markerKey(sha256, ref), Body: Buffer.alloc(0), ContentLength: 0 }),
      );
      if (!(await this.exists(this.objectKey(sha256)))) {
        await this.client.send(
          new this.s3.PutObjectCommand({ Bucket: this.bucket, Key: this.objectKey(sha256), Body: body, ContentType: options.contentType }),
        );
      }
    });
    return { id: blobId(sha256, ref), size: meter.bytes, contentType: options.contentType, sha256 };
  }

  private async putLarge(
    head: Buffer[],
    rest: AsyncIterator<Buffer>,
    ref: string,
    meter: ByteMeter,
    source: Readable,
    options: BlobPutOptions,
  ): Promise<BlobRef> {
    const upload = `${this.prefix}uploads/${ref}`;
    const body = Readable.from(
      (async function* () {
        yield* head;
        for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
      })(),
      { objectMode: false },
    );
    const transfer = new this.storage.Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: upload, Body: body, ContentType: options.contentType },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    try {
      await transfer.done();
    } catch (error) {
      source.unpipe(meter);
      source.destroy();
      await this.delete(upload).catch(() => {});
      throw error;
    }
    const sha256 = meter.digest();
    await this.lock.run(sha256, async () => {
      await this.client.send(
        new this.s3.PutObjectCommand({ Bucket: this.bucket, Key: this.markerKey(sha256, ref), Body: Buffer.alloc(0), ContentLength: 0 }),
      );
      if (!(await this.exists(this.objectKey(sha256)))) {
        await this.client.send(
          new this.s3.CopyObjectCommand({
            Bucket: this.bucket,
            Key: this.objectKey(sha256),
            CopySource: `${this.bucket}/${upload.split('/').map(encodeURIComponent).join('/')}`,
            ContentType: options.contentType,
            MetadataDirective: 'REPLACE',
          }),
        );
      }
      await this.delete(upload);
    });
    return { id: blobId(sha256, ref), size: meter.bytes, contentType: options.contentType, sha256 };
  }

  open(id: string): Readable {
    const parts = parseBlobId(id);
    if (!parts) return missingBlob(id);
    return Readable.from(this.read(id, parts), { objectMode: false });
  }

  /** The object's bytes, once its reference is known to exist (a lazy stream: nothing is read before the first pull). */
  private async *read(id: string, parts: { sha256: string; ref: string }): AsyncGenerator<Buffer> {
    if (!(await this.exists(this.markerKey(parts.sha256, parts.ref)))) throw blobNotFound(id);
    let body: Readable;
    try {
      const object = await this.client.send(new this.s3.GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(parts.sha256) }));
      body = object.Body as Readable;
    } catch (error) {
      throw isNotFound(error) ? blobNotFound(id) : error;
    }
    yield* body as AsyncIterable<Buffer>;
  }

  async remove(id: string): Promise<void> {
    const parts = parseBlobId(id);
    if (!parts) return;
    await this.lock.run(parts.sha256, async () => {
      await this.delete(this.markerKey(parts.sha256, parts.ref));
      const left = await this.client.send(
        new this.s3.ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${this.prefix}refs/${parts.sha256}/`, MaxKeys: 1 }),
      );
      if ((left.KeyCount ?? left.Contents?.length ?? 0) === 0) await this.delete(this.objectKey(parts.sha256));
    });
  }

  async close(): Promise<void> {
    if (this.owned) this.client.destroy();
  }

  private objectKey(sha256: string): string {
    return `${this.prefix}objects/${sha256}`;
  }

  private markerKey(sha256: string, ref: string): string {
    return `${this.prefix}refs/${sha256}/${ref}`;
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new this.s3.HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  private async delete(key: string): Promise<void> {
    await this.client.send(new this.s3.DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}
