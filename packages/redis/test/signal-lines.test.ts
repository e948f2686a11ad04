import { expect, it, describe, vi } from 'vitest';
import { parseSignalLines } from '../src/signal-lines.js';

describe('parseSignalLines', () => {
  it('reads a grouped line as one event per job, in order, beside full lines', () => {
    const message = ['1000', 'G\tc\t3\techo\ta\t{"ok":1}\tb\t', 'e\tq\tk\t1\techo\tp\tp\t\t\t', 'G\ts\t2\techo\tc\t1', 'w'].join('\n');
    expect(parseSignalLines(message)).toEqual([
      {
        type: 'job.event',
        event: {
          type: 'job.completed',
          status: 'completed',
          output: { ok: 1 },
          id: 'a',
          name: 'echo',
          seq: 3,
          at: 1000,
          parentId: undefined,
          rootId: 'a',
        },
      },
      {
        type: 'job.event',
        event: {
          type: 'job.completed',
          status: 'completed',
          output: undefined,
          id: 'b',
          name: 'echo',
          seq: 3,
          at: 1000,
          parentId: undefined,
          rootId: 'b',
        },
      },
      { type: 'job.event', event: { type: 'job.queued', status: 'queued', id: 'k', name: 'echo', seq: 1, at: 1000, parentId: 'p', rootId: 'p' } },
      {
        type: 'job.event',
        event: { type: 'job.started', status: 'running', attempt: 1, id: 'c', name: 'echo', seq: 2, at: 1000, parentId: undefined, rootId: 'c' },
      },
      { type: 'work.available' },
    ]);
  });

  it('reads jobs without meta that left retention from one line', () => {
    expect(parseSignalLines('1000\nX\ta\tb\nx\tc\t{"tenant":"t"}')).toEqual([
      { type: 'job.dropped', id: 'a', meta: undefined },
      { type: 'job.dropped', id: 'b', meta: undefined },
      { type: 'job.dropped', id: 'c', meta: { tenant: 't' } },
    ]);
  });

  it('skips a grouped line that is cut short, and a job whose field is not JSON, keeping the rest', () => {
    expect(parseSignalLines('1000\nG\tc\t3\techo\ta')).toEqual([]);
    expect(parseSignalLines('1000\nG\tc\t3\techo\ta\t{oops\tb\t2').map((s) => (s.type === 'job.event' ? s.event.id : s.type))).toEqual(['b']);
  });

  it('decodes a long output on its first read only; one that is not JSON reads as undefined with a warning', () => {
    const long = { text: 'x'.repeat(300) };
    const parse = vi.spyOn(JSON, 'parse');
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const message = `1000\nG\tc\t3\techo\ta\t${JSON.stringify(long)}\tb\t{${'x'.repeat(300)}`;
      const [good, bad] = parseSignalLines(message).map((s) => (s.type === 'job.event' && s.event.type === 'job.completed' ? s.event : undefined));
      expect(parse).not.toHaveBeenCalled();
      const output = good?.output;
      expect(output).toEqual(long);
      expect(good?.output).toBe(output);
      expect(JSON.parse(JSON.stringify(good))).toEqual({ ...good, parentId: undefined });
      expect(Object.keys(good!)).toEqual(['type', 'status', 'output', 'id', 'name', 'seq', 'at', 'parentId', 'rootId']);
      expect(bad?.output).toBeUndefined();
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
      warn.mockRestore();
    }
  });
});
