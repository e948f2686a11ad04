import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { crc32, deflateSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { readImageHeader } from '@scalable-api/example-image-pipeline';

const server = fileURLToPath(new URL('../../../examples/quickstart/src/server.ts', import.meta.url));

/** A real, decodable PNG (8-bit RGB, a gradient): the thumbnail job resizes it for real. */
function png(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc32(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rows.set([x % 256, y % 256, 128], y * (width * 3 + 1) + 1 + x * 3);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(rows)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function jpeg(width: number, height: number): Buffer {
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, ...Buffer.from('JFIF\0'), 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  const sof0 = Buffer.from([0xff, 0xc0, 0x00, 0x11, 8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof0, Buffer.alloc(2048)]);
}

describe('readImageHeader', () => {
  it('reads PNG and JPEG dimensions from their headers and refuses anything else', () => {
    expect(readImageHeader(png(640, 480))).toEqual({ format: 'png', width: 640, height: 480 });
    expect(readImageHeader(jpeg(1920, 1080))).toEqual({ format: 'jpeg', width: 1920, height: 1080 });
    expect(() => readImageHeader(Buffer.from('GIF89a........'))).toThrow(/^IMAGE_UNSUPPORTED: /);
  });
});

let child: ChildProcess | undefined;
afterEach(() => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  child = undefined;
});

async function startQuickstart(): Promise<{ base: string; exited: Promise<number | null>; output: () => string }> {
  child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', server], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', WORKERS: '2', QUEUE_LIMIT: '50', LOG: 'off', SHUTDOWN_GRACE_MS: '20000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
  for (;;) {
    const m = /listening on (http:\/\/[\d.:]+)/.exec(output);
    if (m) return { base: m[1]!, exited, output: () => output };
    if (child.exitCode !== null) throw new Error(`quickstart exited: ${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('examples/quickstart', () => {
  it('logs its URL and a curl line, and runs the demo jobs', async () => {
    const { base, output } = await startQuickstart();
    expect(output()).toContain(`curl -si -X POST ${base}/jobs/echo`);
    const post = (name: string, body: unknown) =>
      fetch(`${base}/jobs/${name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', prefer: 'wait=20' },
        body: JSON.stringify(body),
      });
    expect(await (await post('echo', { a: [1, 2] })).json()).toMatchObject({ status: 'completed', output: { a: [1, 2] } });
    expect(await (await post('sleep', { ms: 10 })).json()).toMatchObject({ status: 'completed', output: { sleptMs: 10 } });
    expect(await (await post('flaky', { failTimes: 2 })).json()).toMatchObject({ status: 'completed', output: { attempts: 3 } });
    expect(await (await post('fanout', { depth: 2, width: 3 })).json()).toMatchObject({ status: 'completed', output: { leaves: 9 } });
    expect((await post('fanout', { depth: 6, width: 20 })).status).toBe(422);
    expect((await post('sleep', { ms: 60_001 })).status).toBe(422);
    const picture = png(320, 200);
    const image = await fetch(`${base}/jobs/thumbnail`, {
      method: 'POST',
      headers: { 'content-type': 'image/png', prefer: 'wait=20' },
      body: picture,
    });
    const thumbnail = (await image.json()) as { status: string; output: { sizes: { width: number; height: number }[] } };
    expect(thumbnail).toMatchObject({ status: 'completed', output: { format: 'png', width: 320, height: 200, bytes: picture.length } });
    expect(thumbnail.output.sizes.map((s) => [s.width, s.height])).toEqual([
      [64, 40],
      [256, 160],
    ]);
    const notImage = await fetch(`${base}/jobs/thumbnail`, {
      method: 'POST',
      headers: { 'content-type': 'image/gif', prefer: 'wait=20' },
      body: 'GIF89a',
    });
    // thumbnail accepts image/png and image/jpeg: anything else is refused before it is stored.
    expect(notImage.status).toBe(415);
    expect(await notImage.json()).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    // Whatever a client gets wrong next to the API is a problem document too.
    for (const [method, path, status] of [
      ['GET', '/nope', 404],
      ['GET', '/healthz', 404],
      ['PUT', '/health', 405],
      ['POST', '/metrics', 405],
    ] as const) {
      const res = await fetch(`${base}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(status);
      expect(res.headers.get('content-type'), `${method} ${path}`).toMatch(/^application\/problem\+json/);
    }
  });

  it('classifies an upload with the bundled model only when the client asks for it (thumbnail.moderated)', { timeout: 180_000 }, async () => {
    const { base } = await startQuickstart();
    const upload = async (name: string, picture: Buffer) => {
      const posted = await fetch(`${base}/jobs/${name}`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: picture });
      expect(posted.status).toBe(202);
      const { id } = (await posted.json()) as { id: string };
      // The first moderated upload loads the model in a thread: slow on a busy machine, so poll.
      for (;;) {
        const job = (await (await fetch(`${base}/jobs/${id}`)).json()) as { status: string; output?: Record<string, unknown> };
        if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    const picture = png(320, 200);
    const moderated = await upload('thumbnail.moderated', picture);
    expect(moderated).toMatchObject({ status: 'completed', output: { format: 'png', width: 320, height: 200 } });
    const verdict = moderated.output!['moderation'] as { flagged: boolean; top: string; scores: Record<string, number> };
    expect(Object.keys(verdict.scores).sort()).toEqual(['Drawing', 'Hentai', 'Neutral', 'Porn', 'Sexy']);
    expect(Object.values(verdict.scores).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(verdict.top in verdict.scores).toBe(true);
    expect(typeof verdict.flagged).toBe('boolean');
    // The plain route makes the same thumbnails and runs no model.
    const plain = await upload('thumbnail', picture);
    expect(plain).toMatchObject({ status: 'completed', output: { width: 320, height: 200 } });
    expect(plain.output).not.toHaveProperty('moderation');
    expect((plain.output!['sizes'] as unknown[]).length).toBe((moderated.output!['sizes'] as unknown[]).length);
  });

  it('on SIGTERM refuses new work with 503, finishes accepted jobs, then exits 0', async () => {
    const { base, exited } = await startQuickstart();
    const accepted = fetch(`${base}/jobs/sleep`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'wait=20' },
      body: JSON.stringify({ ms: 1_500 }),
    });
    const running = async () => /^scalable_api_jobs_running 1$/m.test(await (await fetch(`${base}/metrics`)).text());
    while (!(await running())) await new Promise((resolve) => setTimeout(resolve, 20));
    child!.kill('SIGTERM');
    let ready = await fetch(`${base}/ready`);
    while (ready.status === 200) ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(503);
    const refused = await fetch(`${base}/jobs/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { code: string }).code).toBe('SHUTTING_DOWN');
    expect(await (await accepted).json()).toMatchObject({ status: 'completed', output: { sleptMs: 1_500 } });
    expect(await exited).toBe(0);
  });
});
