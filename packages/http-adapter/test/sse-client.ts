import { request as httpRequest, type ClientRequest } from 'node:http';

export interface SseFrame {
  /** The `id:` as a number (a job stream's seq). */
  id?: number;
  /** The `id:` as sent (a tree stream's cursor). */
  rawId?: string;
  event?: string;
  data?: unknown;
  comment?: string;
}

export interface SseReader {
  status: Promise<number>;
  frames: SseFrame[];
  /** Resolves when the stream is over: ended by the server, or its connection closed. */
  ended: Promise<void>;
  /** True once the connection closed before the response was complete (the server cut it off). */
  readonly aborted: boolean;
  /** Resolves once `n` events (frames with an id) arrived. */
  events(n: number): Promise<SseFrame[]>;
  /** Resolves once a frame matching `predicate` arrived. */
  frame(predicate: (frame: SseFrame) => boolean): Promise<SseFrame>;
  close(): void;
}

/** A real-socket SSE client: parses frames as bytes arrive. */
export function readSse(base: string, path: string, headers: Record<string, string> = {}): SseReader {
  const frames: SseFrame[] = [];
  let aborted = false;
  const waiters: Array<() => void> = [];
  let req: ClientRequest;
  let resolveStatus!: (status: number) => void;
  const status = new Promise<number>((resolve) => (resolveStatus = resolve));
  const ended = new Promise<void>((resolve, reject) => {
    req = httpRequest(`${base}${path}`, { headers }, (res) => {
      resolveStatus(res.statusCode ?? 0);
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const frame: SseFrame = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) frame.comment = line.slice(1).trim();
            else if (line.startsWith('id: ')) {
              frame.rawId = line.slice(4);
              if (/^\d+$/.test(frame.rawId)) frame.id = Number(frame.rawId);
            } else if (line.startsWith('event: ')) frame.event = line.slice(7);
            else if (line.startsWith('data: ')) frame.data = JSON.parse(line.slice(6));
          }
          frames.push(frame);
          for (const wake of waiters.splice(0)) wake();
        }
      });
      res.on('end', () => resolve());
      res.on('error', () => resolve());
      res.on('close', () => {
        aborted = !res.complete;
        resolve();
      });
    });
    req.on('error', reject);
    req.end();
  });
  const events = () => frames.filter((f) => f.rawId !== undefined);
  return {
    status,
    frames,
    ended,
    get aborted() {
      return aborted;
    },
    async events(n) {
      while (events().length < n) await new Promise<void>((resolve) => waiters.push(resolve));
      return events();
    },
    async frame(predicate) {
      for (;;) {
        const found = frames.find(predicate);
        if (found) return found;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    close: () => req.destroy(),
  };
}
