/**
 * The logging seam: a subset of pino's interface, so a fastify/pino logger drops in and tests can
 * pass a collector. `child()` binds fields (job id, name, attempt, parent and root ids).
 */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Logger;
  /**
   * pino's: lets the runtime skip building per-job debug lines (and the child logger they need)
   * when nobody reads them. Without it, debug lines are never written.
   */
  isLevelEnabled?(level: string): boolean;
}

export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
