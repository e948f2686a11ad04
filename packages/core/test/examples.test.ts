import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('docs/getting-started.md', () => {
  it('runs examples/getting-started and prints what the guide says it prints', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', 'examples/getting-started/src/main.ts'],
      {
        cwd: root,
        timeout: 30_000,
      },
    );
    expect(stdout.trim().split('\n')).toEqual([
      'resize: { width: 64, bytes: 6400 }',
      'album: { total: 134400 }',
      'children: resize:completed resize:completed resize:completed',
      'rejected: INPUT_INVALID',
      'failed: JOB_FAILED',
    ]);
  });
});
