/**
 * Structured logs: one JSON object per line. A few lines of our own instead of pino: the gateway logs
 * one line per request at most, so pino's speed buys nothing here and its transport threads would add
 * workers to a process that already runs a pool.
 */
export type LogFields = Record<string, unknown>;
export type Logger = (level: 'info' | 'warn' | 'error', msg: string, fields?: LogFields) => void;

export function jsonLogger(out: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  return (level, msg, fields) => out(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}

export const silentLogger: Logger = () => {};
