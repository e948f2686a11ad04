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
