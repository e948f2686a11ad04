/**
 * What the Redis benches put in a job, one definition for all of them (redis-callgrind,
 * lua-profile, redis-memory, redis-scale).
 *
 *   BENCH_INPUT_BYTES  pads the input's JSON to that many bytes (the issue's measurement used 213):
 *                      past Redis' hash-max-listpack-value (64) a job's hash, ours and BullMQ's, is
 *                      a hash table rather than a listpack
 *   BENCH_NAMES        a claim by that many names, 'echo' and empty others, as a node that runs
 *                      many job types does (the quickstart registers 13)
 */

/** `base` with a `pad` field that makes its JSON `bytes` long; `base` itself when it is already as long. */
export function padded<T extends object>(base: T, bytes: number): T {
  const plain = JSON.stringify(base).length;
  if (bytes <= plain) return base;
  return { ...base, pad: 'x'.repeat(bytes - JSON.stringify({ ...base, pad: '' }).length) };
}

const inputBytes = Number(process.env['BENCH_INPUT_BYTES'] ?? 0);

/** A job's input (52 bytes of JSON unless BENCH_INPUT_BYTES says more). */
export const benchInput = padded({ url: 'https://images.example/cat.png', width: 256 }, inputBytes);

/** A completed job's output: the input itself when padded (an echo, as over HTTP), else a small object. */
export const benchOutput: object = inputBytes > 0 ? benchInput : { ok: true };

/** The names a claim asks for (BENCH_NAMES), or undefined: every name the store knows. */
export const benchNames: string[] | undefined = process.env['BENCH_NAMES']
  ? ['echo', ...Array.from({ length: Number(process.env['BENCH_NAMES']) - 1 }, (_, i) => `other${i}`)]
  : undefined;
