import { Command, type Cluster, type Redis } from 'ioredis';
import type { FunctionLibrary, FunctionName } from './function-library.js';

/**
 * Calls the library's functions (`FCALL`), loading the library where it is missing: before the
 * first call, after the connection was re-established (the server may have restarted without
 * persistence), and again whenever a call finds its function gone (`FUNCTION FLUSH`, a failover
 * to a replica that never had it). On a Cluster the library goes to every master.
 */
export class FunctionCaller {
  private loading: Promise<void> | undefined;

  constructor(
    private readonly client: Redis | Cluster,
    private readonly library: FunctionLibrary,
  ) {
    // A connection that comes back may be to a server that restarted empty: load again then.
    let dropped = false;
    client.on('close', () => {
      dropped = true;
    });
    client.on('ready', () => {
      if (dropped) this.loading = undefined;
      dropped = false;
    });
  }

  /** `args` may be built once the library is loaded (so a clock reading in them is fresh when sent). */
  async call(fn: FunctionName, key: string, args: readonly string[] | (() => readonly string[])): Promise<unknown> {
    await (this.loading ??= this.load());
    const name = `${this.library.name}_${fn}`;
    const list = [name, '1', key, ...(typeof args === 'function' ? args() : args)];
    try {
      return await this.client.sendCommand(new FunctionCall(list));
    } catch (error) {
      if (!isFunctionMissing(error)) throw error;
      this.loading = undefined;
      await (this.loading ??= this.load());
      return await this.client.sendCommand(new FunctionCall(list));
    }
  }

  private async load(): Promise<void> {
    const load = async (node: Redis) => {
      try {
        await node.function('LOAD', this.library.source);
      } catch (error) {
        // Same name, same content: another store (or this one before a reconnect) loaded it.
        if (!/already exists/i.test((error as Error).message)) throw error;
      }
    };
    try {
      if (this.client.isCluster) await Promise.all((this.client as Cluster).nodes('master').map(load));
      else await load(this.client as Redis);
    } catch (error) {
      // Not loaded: the next call tries again rather than failing forever on a remembered error.
      this.loading = undefined;
      throw error;
    }
  }
}

/**
 * An `FCALL` as `client.fcall(...)` sends it, without the `args.flat()` of ioredis' `Command`
 * constructor: V8 runs `flat` at ~0.1 µs per element, ~35 µs for a batch of 300 arguments (a
 * settle of 60 jobs), more than encoding them. Every argument here is a string already.
 */
class FunctionCall extends Command {
  constructor(args: string[]) {
    super('fcall', [], { replyEncoding: 'utf8' });
    this.args = args;
  }
}

function isFunctionMissing(error: unknown): boolean {
  return error instanceof Error && /Function not found/i.test(error.message);
}
