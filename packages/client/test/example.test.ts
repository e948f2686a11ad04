import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('docs/client.md', () => {
  it('runs examples/client against the quickstart server and prints what the guide says it prints', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--conditions=source', '--import', 'tsx', 'examples/client/src/main.ts'], {
      cwd: root,
      timeout: 60_000,
    });
    expect(stdout.trim().split('\n')).toEqual([
      'echo: {"hello":"world"}',
      'wait: 20 ms',
      'tree: 13 jobs completed, progress 1 - 9 leaves',
      'refused: INPUT_INVALID [["ms"]]',
      'cancelled: JOB_CANCELLED',
    ]);
  });
});
