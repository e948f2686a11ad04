import { fileURLToPath } from 'node:url';
import type { Proc, ProcessGroup } from './process-group.js';

const serverFile = fileURLToPath(new URL('../examples/quickstart/src/server.ts', import.meta.url));
const probeFile = fileURLToPath(new URL('./memory-probe.ts', import.meta.url));

export interface QuickstartProcess extends Proc {
  base: string;
}

/**
 * The real quickstart server (`npm start`), unchanged, in its own process on a free loopback
 * port. With `probe`, it also loads the memory probe (heap after a forced GC, over IPC).
 */
export async function startQuickstart(
  group: ProcessGroup,
  name: string,
  env: Record<string, string>,
  options: { probe?: boolean } = {},
): Promise<QuickstartProcess> {
  const nodeArgs = options.probe ? ['--expose-gc', '--import', probeFile] : [];
  const proc = group.node(
    name,
    serverFile,
    { PORT: '0', HOST: '127.0.0.1', LOG: 'off', DASHBOARD: 'off', ...env },
    { ipc: options.probe === true, nodeArgs },
  );
  const line = await proc.line('scalable-api quickstart listening on ', 60_000);
  const base = /listening on (http:\/\/[^ ]+)/.exec(line)![1]!;
  return Object.assign(proc, { base });
}
