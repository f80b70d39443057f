import type { Capability } from './capability.ts';
import { guestLine, type Level } from '../observe/log.ts';

/** Where guest log lines go: `fn` is the running function or handler, when known. */
export type LogSink = (bundle: string, level: number, message: string, fn?: string, tenant?: string) => void;
const LEVELS: Level[] = ['debug', 'info', 'warn', 'error'];

/** Guest lines for the engine's logger (observe/log.ts): one per call of `log`, with the guest's bundle, function and tenant. */
export function guestLog(bundle: string, level: Level, message: string, fn: string | undefined, tenant: string | undefined): void {
  guestLine(level, message, bundle, fn, tenant);
}

/** Default sink: the engine's one logger (stdout; JSON lines in pipes, human lines on a terminal). */
export let logSink: LogSink = (bundle, level, message, fn, tenant) => guestLog(bundle, LEVELS[level] ?? 'info', message, fn, tenant);
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
      const b = ctx.bytes(ptr >>> 0, Math.min(len >>> 0, 4096));
      // A view, not a copy, of the guest's bytes: decoded to a string at once.
      logSink(ctx.manifest.name, level, Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'), ctx.entry, ctx.manifest.tenant);
    },
  }),
};
