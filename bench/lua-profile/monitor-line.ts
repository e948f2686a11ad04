/** One line MONITOR prints: who sent the command (`lua` for a script's redis.call) and its argv. */
export interface MonitorEntry {
  source: string;
  argv: string[];
}

const escapes: Record<string, string> = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b', '"': '"', '\\': '\\' };

/**
 * Parses `<time> [<db> <source>] "arg" "arg" …`, undoing Redis' quoting (sdscatrepr: \\ \" \n \r
 * \t \a \b and \xHH for other bytes). Strings are latin1, one character a byte, as read. Not an
 * entry (`OK`, a blank line): undefined.
 */
export function parseMonitorLine(line: string): MonitorEntry | undefined {
  const head = /^\d+\.\d+ \[\d+ ([^\]]+)\] /.exec(line);
  if (!head) return undefined;
  const argv: string[] = [];
  let i = head[0].length;
  while (i < line.length) {
    if (line[i] !== '"') throw new Error(`MONITOR line not understood at ${i}: ${line.slice(0, 200)}`);
    let arg = '';
    for (i++; line[i] !== '"'; i++) {
      if (i >= line.length) throw new Error(`MONITOR line ends inside a string: ${line.slice(0, 200)}`);
      const c = line[i]!;
      if (c !== '\\') {
        arg += c;
        continue;
      }
      const next = line[++i]!;
      if (next === 'x') {
        arg += String.fromCharCode(parseInt(line.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        arg += escapes[next] ?? next;
      }
    }
    argv.push(arg);
    i += 2; // the closing quote and the space
  }
  return { source: head[1]!, argv };
}
