import type { Capability } from './capability.ts';

export type LogSink = (bundle: string, level: number, message: string) => void;
const LEVELS = ['debug', 'info', 'warn', 'error'];

/** Default sink: one line on stderr, so guest logs never mix with replies on stdout. */
export let logSink: LogSink = (bundle, level, message) => {
  process.stderr.write(`[${bundle}] ${LEVELS[level] ?? 'info'}: ${message}\n`);
};
export const setLogSink = (sink: LogSink): void => {
  logSink = sink;
};

/** roam:log — guest log lines (UTF-8), truncated at 4 KiB. */
export const log: Capability = {
  name: 'log',
  module: 'roam:log',
  functions: { log: '(i32,i32,i32)->()' },
  imports: (ctx) => ({
    log(level: number, ptr: number, len: number): void {
      const text = Buffer.from(ctx.bytes(ptr >>> 0, Math.min(len >>> 0, 4096))).toString('utf8');
      logSink(ctx.manifest.name, level, text);
    },
  }),
};
