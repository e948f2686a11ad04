import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../', import.meta.url);

/** Each ```ts block right after `<!-- from: path -->`, with the path. */
async function quotes(doc: string): Promise<{ path: string; code: string }[]> {
  const text = await readFile(new URL(doc, root), 'utf8');
  return [...text.matchAll(/<!-- from: (\S+) -->\n```ts\n([\s\S]*?)\n```/g)].map((m) => ({ path: m[1]!, code: m[2]! }));
}

describe('docs/ml-jobs.md', () => {
  it('quotes its code from files that are type-checked: every quoted line is in the file, in order', async () => {
    const found = await quotes('docs/ml-jobs.md');
    expect(found.length).toBeGreaterThanOrEqual(3);
    for (const { path, code } of found) {
      const source = (await readFile(new URL(path, root), 'utf8')).split('\n').map((line) => line.trim());
      let at = 0;
      for (const line of code.split('\n').map((l) => l.trim())) {
        if (line === '') continue;
        const next = source.indexOf(line, at);
        expect(next, `${path}: ${line}`).toBeGreaterThanOrEqual(0);
        at = next + 1;
      }
    }
  });
});
