import type { Logger } from '../logger.js';

/**
 * Forwards to `inner` until `isFenced()` says the writer no longer speaks for the job: an attempt
 * that lost its lease (another attempt owns the job now) writes nothing under the job's name.
 */
export function fencedLogger(inner: Logger, isFenced: () => boolean): Logger {
  const write =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (obj: object, message?: string): void => {
      if (!isFenced()) inner[level](obj, message);
    };
  const logger: Logger = {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    child: (bindings) => fencedLogger(inner.child(bindings), isFenced),
  };
  if (inner.isLevelEnabled) logger.isLevelEnabled = (level) => inner.isLevelEnabled!(level);
  return logger;
}
