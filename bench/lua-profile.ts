/**
 * Which Lua lines and functions of the store's function library the Redis CPU of a job goes to.
 * Redis 7 gives scripts no `debug` library and Debian's redis-server is stripped, so callgrind
 * (bench/redis-callgrind.ts) says how much of a job is Lua but not where. This runs the real
 * library (`readFunctionLibrary()`) in a standalone Lua 5.1 over in-memory commands
 * (bench/lua-profile/fake-redis.lua), replays the exact FCALLs a private redis-server received
 * while the store ran callgrind's loop (captured with MONITOR: enqueue BATCH plain jobs, claim
 * them, settle them completed; measured after a warm-up that fills retention, RETAIN finished
 * roots), and counts Lua VM instructions with a count hook (bench/lua-profile/harness.lua):
 * per job in all and by function (enqueue, claim, settle), the hottest lines and Lua functions,
 * and redis.call calls per job by command. Each replayed FCALL's redis.calls are compared with the
 * ones MONITOR saw Redis make for it: a difference means the fake answered unlike Redis.
 *
 *   node --conditions=source --import tsx bench/lua-profile.ts      (needs lua5.1: apt-get install lua5.1)
 *
 * BENCH_JOBS (2,000), BENCH_BATCH (50), BENCH_RETAIN (1,000), BENCH_NAMES=13 (claim by that many
 * names, 'echo' and empty others) and BENCH_INPUT_BYTES as in redis-callgrind.ts, BENCH_PORT (a
 * spare one of 7400-7999).
 * Limits: VM instructions are not machine instructions (an OP_CALL of string.format counts 1, the
 * format inside it thousands; the interpreter's dispatch, table resizes and the collector are
 * not counted per line), and command costs are not modelled at all — the calls per job show what
 * they would add. Functions' inclusive counts are sampled (every 13th instruction credits each
 * function on the stack); self counts and lines are exact.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { benchNames } from './bench-input.js';
import { storeLoop } from './store-loop.js';
import { createRedisStore } from '@scalable-api/redis';
import { readFunctionLibrary } from '../packages/redis/src/function-library.js';
import { parseMonitorLine } from './lua-profile/monitor-line.js';

const JOBS = Number(process.env['BENCH_JOBS'] ?? 2_000);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 50);
const RETAIN = Number(process.env['BENCH_RETAIN'] ?? 1_000);
const NAMES = benchNames;
const PORT = Number(process.env['BENCH_PORT'] ?? 7_400 + Math.floor(Math.random() * 600));
const MARK = 'lua-profile:measure';
const END = 'lua-profile:end';

const library = readFunctionLibrary();
const dir = mkdtempSync(join(tmpdir(), 'sa-lua-profile-'));

/** Runs the loop against a private server and returns what MONITOR printed meanwhile, and the jobs measured. */
async function capture(): Promise<{ monitor: string; jobs: number }> {
  const server: ChildProcess = spawn(
    'redis-server',
    ['--port', String(PORT), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: 'ignore',
    },
  );
  const url = `redis://127.0.0.1:${PORT}`;
  let monitorProcess: ChildProcess | undefined;
  const admin = new Redis(url, { retryStrategy: (n) => (n > 100 ? null : 50) });
  admin.on('error', () => {}); // refused until the server listens: retried
  try {
    await admin.ping();
    let monitor = '';
    monitorProcess = spawn('redis-cli', ['-p', String(PORT), 'monitor'], { stdio: ['ignore', 'pipe', 'inherit'] });
    monitorProcess.stdout!.setEncoding('latin1').on('data', (chunk: string) => (monitor += chunk));
    while (!monitor.includes('"ping"')) {
      await admin.ping();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const store = createRedisStore({ url, prefix: 'lp', retention: { count: RETAIN } });
    let jobs = 0;
    try {
      store.subscribe(() => {});
      await storeLoop(store, RETAIN + 2 * BATCH, BATCH);
      await admin.echo(MARK);
      jobs = await storeLoop(store, JOBS, BATCH);
      await admin.echo(END);
    } finally {
      await store.close();
    }
    while (!monitor.includes(`"${END}"`)) await new Promise((resolve) => setTimeout(resolve, 20));
    return { monitor, jobs };
  } finally {
    monitorProcess?.kill();
    admin.disconnect();
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGKILL');
    await exited;
  }
}

/**
 * The replay file harness.lua reads: 'F <n>' an FCALL's argv, then 'X <n>' the redis.calls Redis
 * made for it (each argv joined by NUL), 'M' where measuring starts; each string as its length in
 * bytes, a newline, its bytes, a newline. Strings are latin1 here, one character a byte.
 */
function replayFile(monitor: string): string {
  const out: string[] = [];
  const str = (s: string) => out.push(`${s.length}\n${s}\n`);
  let expected: string[] | undefined;
  const flush = () => {
    if (!expected) return;
    out.push(`X ${expected.length}\n`);
    for (const e of expected) str(e);
    expected = undefined;
  };
  const outside = new Set<string>();
  for (const text of monitor.split('\n')) {
    const entry = parseMonitorLine(text);
    if (!entry) continue;
    const command = entry.argv[0]!.toLowerCase();
    if (entry.source === 'lua') {
      expected?.push(entry.argv.join('\0'));
      continue;
    }
    flush();
    if (command === 'fcall' || command === 'fcall_ro') {
      out.push(`F ${entry.argv.length - 1}\n`);
      for (const a of entry.argv.slice(1)) str(a);
      expected = [];
    } else if (command === 'echo' && entry.argv[1] === MARK) {
      out.push('M\n');
    } else {
      outside.add(command);
    }
  }
  flush();
  // Every write a client made outside the functions would be state the replay misses.
  const reads = new Set([
    'ping',
    'echo',
    'info',
    'hgetall',
    'function',
    'ssubscribe',
    'sunsubscribe',
    'subscribe',
    'client',
    'select',
    'quit',
    'monitor',
    'hello',
  ]);
  const writes = [...outside].filter((c) => !reads.has(c));
  if (writes.length > 0) console.warn(`commands outside the functions, not replayed: ${writes.join(', ')}`);
  return out.join('');
}

/** Where each line of the joined source came from: `-- <file>.lua` then `;(function(...)` open a file. */
function sourceMap(source: string): { where: (line: number) => string; text: (line: number) => string } {
  const lines = source.split('\n');
  const starts: [number, string][] = [];
  lines.forEach((l, i) => {
    const m = /^-- ([\w-]+\.lua)$/.exec(l);
    if (m && lines[i + 1] === ';(function(...)') starts.push([i + 3, m[1]!]);
  });
  return {
    where(line) {
      const start = starts.findLast(([first]) => first <= line);
      return start ? `${start[1]}:${line - start[0] + 1}` : `(joined):${line}`;
    },
    text: (line) => (lines[line - 1] ?? '').trim(),
  };
}

/** A function's name from the line that defines it (`function lib.load(id)`, `local function dirty(rec)`, `x = function`, `lib.register('claim', function`). */
function functionName(text: string): string {
  const registered = /lib\.register\('(\w+)', function/.exec(text);
  if (registered) return `(the ${registered[1]} function)`;
  const m = /function\s+([\w.:]+)\s*\(/.exec(text) ?? /([\w.[\]'"]+)\s*=\s*function\b/.exec(text);
  return m ? m[1]! : '(anonymous)';
}

const { monitor, jobs } = await capture();
try {
  const libraryFile = join(dir, 'library.lua');
  const replayPath = join(dir, 'replay.bin');
  writeFileSync(libraryFile, library.source);
  writeFileSync(replayPath, replayFile(monitor), 'latin1');
  const here = fileURLToPath(new URL('lua-profile', import.meta.url));
  const output = execFileSync('lua5.1', [join(here, 'harness.lua'), libraryFile, replayPath, here], { encoding: 'utf8', maxBuffer: 64 << 20 });
  report(output, jobs);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

function report(output: string, perJobOf: number): void {
  const rows = output
    .trim()
    .split('\n')
    .map((l) => l.split('\t'));
  const map = sourceMap(library.source);
  const per = (n: string | number | undefined) => Number(n) / perJobOf;
  const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en') : n.toFixed(n >= 10 ? 1 : 2));
  const col = (n: string | number | undefined, width = 7) => fmt(per(n)).padStart(width);
  const fns = rows.filter((r) => r[0] === 'fn');
  const main = ['enqueue', 'claim', 'settle'];
  const total = fns.reduce((sum, r) => sum + Number(r[3]), 0);
  const bytes = fns.reduce((sum, r) => sum + Number(r[4]), 0);
  const names = NAMES ? `, claims by ${NAMES.length} names` : '';
  console.log(`Lua per job (${perJobOf.toLocaleString('en')} jobs, batches of ${BATCH}, retention ${RETAIN.toLocaleString('en')}${names}):`);
  console.log(`  all        ${col(total)} VM instructions ${col(bytes)} bytes allocated`);
  for (const [, fn, calls, n, b] of fns.sort((a, b) => Number(b[3]) - Number(a[3]))) {
    console.log(
      `  ${fn!.padEnd(10)} ${col(n)} VM instructions ${col(b)} bytes allocated   ${calls} calls, ${fmt(Number(n) / Number(calls))} instructions per call`,
    );
  }
  const [, checked, same, diff] = rows.find((r) => r[0] === 'check')!;
  const [, errors, firstError] = rows.find((r) => r[0] === 'errors')!;
  console.log(`  replay: ${same} of ${checked} measured FCALLs made exactly the redis.calls Redis made${diff ? ` (first difference: ${diff})` : ''}`);
  if (errors !== '0') console.log(`  replay: ${errors} FCALLs failed, first: ${firstError}`);

  const line = (l: string[]) =>
    `  ${col(l[2])} ${pct(Number(l[2]), total)} ${col(l[3], 6)} ${col(l[4], 5)}  ${map.where(Number(l[1])).padEnd(22)} ${map.text(Number(l[1])).slice(0, 90)}`;
  const lines = rows.filter((r) => r[0] === 'line');
  console.log('\nTop 40 lines by VM instructions (per job: instructions, share, bytes allocated, C calls)');
  for (const l of lines.sort((a, b) => Number(b[2]) - Number(a[2])).slice(0, 40)) console.log(line(l));
  console.log('\nTop 15 lines by bytes allocated (same columns)');
  for (const l of lines.sort((a, b) => Number(b[3]) - Number(a[3])).slice(0, 15)) console.log(line(l));

  console.log('\nTop 25 Lua functions (per job: self instructions, share, ≈inclusive (sampled), self bytes)');
  const funcs = rows.filter((r) => r[0] === 'func').sort((a, b) => Number(b[2]) - Number(a[2]));
  for (const [, at, self, incl, b] of funcs.slice(0, 25)) {
    const name = Number(at) === 0 ? '(main chunk)' : functionName(map.text(Number(at)));
    console.log(`  ${col(self)} ${pct(Number(self), total)} ≈${col(incl)} ${col(b, 6)}  ${name.padEnd(28)} ${map.where(Number(at))}`);
  }

  console.log('\nC functions the library calls, per job');
  const ccalls = rows.filter((r) => r[0] === 'ccall').sort((a, b) => Number(b[2]) - Number(a[2]));
  console.log(`  ${ccalls.map(([, name, n]) => `${name} ${fmt(per(n))}`).join(', ')}`);

  console.log('\nValues crossing between Redis and Lua, per job (count, bytes): each a Lua string made or read');
  const glue = rows.filter((r) => r[0] === 'glue');
  for (const fn of main) {
    const of = (what: string) => glue.find((r) => r[1] === fn && r[2] === what);
    const cell = (what: string) => `${col(of(what)?.[3], 6)} ${col(of(what)?.[4], 7)} B`;
    console.log(
      `  ${fn.padEnd(8)} FCALL args ${cell('fcall_args')}   redis.call args ${cell('call_args')}   replies to Lua ${cell('call_replies')}   its reply ${cell('fcall_reply')}`,
    );
  }

  console.log('\nredis.call per job by command (all: enqueue / claim / settle / others)');
  const cmds = new Map<string, Map<string, number>>();
  for (const [, fn, cmd, n] of rows.filter((r) => r[0] === 'cmd')) {
    const by = cmds.get(cmd!) ?? new Map<string, number>();
    cmds.set(cmd!, by);
    by.set(fn!, (by.get(fn!) ?? 0) + Number(n));
  }
  const sum = (by: Map<string, number>) => [...by.values()].reduce((a, b) => a + b, 0);
  const all = [...cmds.values()].reduce((a, by) => a + sum(by), 0);
  console.log(`  ${'all'.padEnd(14)} ${col(all, 6)}`);
  for (const [cmd, by] of [...cmds].sort((a, b) => sum(b[1]) - sum(a[1]))) {
    const others = sum(by) - main.reduce((a, fn) => a + (by.get(fn) ?? 0), 0);
    const cols = [...main.map((fn) => by.get(fn) ?? 0), others].map((n) => col(n, 6)).join(' ');
    console.log(`  ${cmd.padEnd(14)} ${col(sum(by), 6)}   (${cols})`);
  }
}

function pct(n: number, total: number): string {
  return `${((100 * n) / total).toFixed(1).padStart(4)}%`;
}
