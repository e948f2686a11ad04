import type { Redis } from 'ioredis';

/** One slow-log entry: how long, which command (a function call by its function's name), when. */
export interface SlowCall {
  ms: number;
  /** Unix seconds. */
  at: number;
  command: string;
}

/** One latency-monitor event (`command`, `fast-command`, `expire-del`, …) and its samples. */
export interface LatencyEvent {
  event: string;
  maxMs: number;
  /** `LATENCY HISTORY`: [unix seconds, ms], at most one sample a second (the worst). */
  history: [number, number][];
}

/** What a private server recorded in one phase. */
export interface LatencyReading {
  /** Slow-log entries (every call over the server's `slowlog-log-slower-than`), longest first. */
  slow: SlowCall[];
  events: LatencyEvent[];
  /**
   * Per command, the upper edge of its slowest `LATENCY HISTOGRAM` bucket (µs, powers of two):
   * every command counts, also those the slow log leaves out (`EXEC`) and those a function runs.
   */
  histogramTopUs: Map<string, number>;
  /** The longest of the slow log and the latency monitor, ms. */
  maxMs: number;
}

/** The probe's own connection, by name: its commands are left out of what it reports. */
const probeName = 'chaos-latency-probe';
/** The probe's own commands, as `LATENCY HISTOGRAM` names them. */
const probeCommands = /^(slowlog|latency|config|client|multi|exec|info)\b/;

/**
 * Watches a private server's slow log and latency monitor phase by phase. The slow log is
 * drained every `pollMs` (`SLOWLOG GET` and `RESET` in one transaction): read once at the end of
 * a busy phase, thousands of entries made `SLOWLOG GET` itself a call of tens of ms — the
 * longest the latency monitor saw, and not in the slow log it had just read. Within a phase the
 * latency monitor is read first and reset last, so the probe's own reads never count; its
 * connection is named and its slow-log entries left out. For a server of the suite's own: the
 * resets would erase what others look at on a shared one.
 */
export class LatencyProbe {
  private slow: SlowCall[] = [];
  private timer: NodeJS.Timeout | undefined;
  private draining: Promise<void> = Promise.resolve();

  constructor(
    private readonly admin: Redis,
    private readonly pollMs = 250,
  ) {}

  /** Clears what the server recorded so far and starts draining its slow log. */
  async start(): Promise<void> {
    await this.admin.client('SETNAME', probeName);
    await this.reset();
    this.timer = setInterval(() => void (this.draining = this.draining.then(() => this.drain())), this.pollMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** What the server recorded since the last reading, then a fresh start. */
  async read(): Promise<LatencyReading> {
    const latest = (await this.admin.latency('LATEST')) as [string, number, number, number][];
    const events: LatencyEvent[] = [];
    for (const [event, , , max] of latest) {
      const history = (await this.admin.latency('HISTORY', event)) as [number, number][];
      events.push({ event, maxMs: Number(max), history: history.map(([at, ms]) => [Number(at), Number(ms)]) });
    }
    const histogramTopUs = histogramTops((await this.admin.call('LATENCY', 'HISTOGRAM')) as unknown[]);
    await (this.draining = this.draining.then(() => this.drain()));
    const slow = this.slow.sort((a, b) => b.ms - a.ms);
    await this.reset();
    const maxMs = Math.max(0, slow[0]?.ms ?? 0, ...events.map((e) => e.maxMs));
    return { slow, events, histogramTopUs, maxMs };
  }

  private async reset(): Promise<void> {
    await this.drain();
    this.slow = [];
    await this.admin.latency('RESET');
    await this.admin.config('RESETSTAT');
  }

  private async drain(): Promise<void> {
    const replies = await this.admin.multi().slowlog('GET', '-1').slowlog('RESET').exec();
    const log = (replies?.[0]?.[1] ?? []) as [number, number, number, string[], string, string][];
    for (const [, at, us, args, , client] of log) {
      if (client !== probeName) this.slow.push({ ms: us / 1_000, at: Number(at), command: commandName(args) });
    }
  }
}

function histogramTops(histogram: unknown[]): Map<string, number> {
  const tops = new Map<string, number>();
  for (let i = 0; i + 1 < histogram.length; i += 2) {
    const command = String(histogram[i]);
    if (probeCommands.test(command)) continue;
    const fields = histogram[i + 1] as unknown[];
    const buckets = fields[fields.indexOf('histogram_usec') + 1] as number[];
    let top = 0;
    for (let b = 0; b + 1 < buckets.length; b += 2) top = Math.max(top, Number(buckets[b]));
    tops.set(command, top);
  }
  return tops;
}

/** `fcall claim` for a function of the library (its versioned prefix left out), else the command and its key. */
function commandName(args: string[]): string {
  const [cmd = '?', first = ''] = args;
  if (/^fcall/i.test(cmd)) return `${cmd.toLowerCase()} ${first.replace(/^scalable_api_[0-9a-f]+_/, '')}`;
  return `${cmd.toLowerCase()} ${first}`;
}

/**
 * A reading in a line: the slow log's count and longest calls, each latency event's worst
 * samples with the slow-log call of the same second that explains it (if any), and the
 * commands whose histogram reaches past a quarter of `limitMs`.
 */
export function describeLatency(r: LatencyReading, limitMs: number): string {
  const top = r.slow
    .slice(0, 3)
    .map((s) => `${s.ms.toFixed(1)} ms ${s.command}`)
    .join(', ');
  const over10 = r.slow.filter((s) => s.ms >= 10).length;
  const events = r.events.map((e) => {
    const worst = [...e.history].sort((a, b) => b[1] - a[1]).slice(0, 3);
    const samples = worst.map(([at, ms]) => {
      const same = r.slow.find((s) => Math.abs(s.at - at) <= 1 && s.ms >= ms - 1);
      return `${ms} ms${same ? ` (${same.command})` : ''}`;
    });
    return `${e.event} max ${e.maxMs} ms [${samples.join(', ')}]`;
  });
  const wide = [...r.histogramTopUs]
    .filter(([, us]) => us / 1_000 >= limitMs / 4)
    .sort((a, b) => b[1] - a[1])
    .map(([cmd, us]) => `${cmd} ≤${(us / 1_000).toFixed(1)} ms`);
  return (
    `slow log: ${r.slow.length} calls over 1 ms, ${over10} over 10 ms, longest ${top || 'none'}; ` +
    `LATENCY: ${events.join('; ') || 'none'}; histogram tops: ${wide.join(', ') || `all under ${limitMs / 4} ms`}`
  );
}
