/**
 * Preloaded into a server under soak (`--expose-gc --import`): on an IPC `probe` message it
 * forces a full GC and answers with the heap and RSS right after it, so the soak can tell a leak
 * (heap after GC growing) from garbage that simply has not been collected yet.
 */
process.on('message', (message: unknown) => {
  if (message !== 'probe' || !process.send) return;
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const { rss, heapUsed } = process.memoryUsage();
  process.send({ rss, heapUsed, gc: gc !== undefined });
});
// The IPC channel must not keep a server alive that is otherwise done.
process.channel?.unref();
