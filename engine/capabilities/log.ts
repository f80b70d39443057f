import { isMainThread } from 'node:worker_threads';
import type { Capability } from './capability.ts';

export type LogSink = (bundle: string, level: number, message: string) => void;
const LEVELS = ['debug', 'info', 'warn', 'error'];

/**
 * Guest log lines of the main thread, written once per event-loop turn. The main thread is the network
 * thread, where tiny functions and handlers run inline: a write(2) per line cost ~10 µs of it for each
 * hello `greet` request (19% of its busy time, --cpu-prof, bench:http at load ~10), as much as the
 * rest of the function call; 32 connections' lines now share one write. Lines keep their order; what
 * is pending is written when a batch passes 64 KiB, and at exit. Worker threads write each line at
 * once (it reaches the main thread as a message): a run the watchdog kills keeps the lines it logged.
 */
class TurnBatch {
  private lines: string[] = [];
  private bytes = 0;
  private scheduled = false;
  private hooked = false;
  /** Bound once: no closure per line (engine/README.md). */
  private readonly flushNow = () => this.flush();

  push(line: string): void {
    this.lines.push(line);
    this.bytes += line.length;
    if (this.bytes >= 64 * 1024) return this.flush();
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.flushNow);
    if (!this.hooked) {
      this.hooked = true;
      process.on('exit', this.flushNow);
    }
  }

  flush(): void {
    this.scheduled = false;
    if (this.lines.length === 0) return;
    const text = this.lines.length === 1 ? this.lines[0]! : this.lines.join('');
    this.lines = [];
    this.bytes = 0;
    process.stderr.write(text);
  }
}

const batch = new TurnBatch();

/** Default sink: one line on stderr, so guest logs never mix with replies on stdout. */
export let logSink: LogSink = (bundle, level, message) => {
  const line = `[${bundle}] ${LEVELS[level] ?? 'info'}: ${message}\n`;
  if (isMainThread) batch.push(line);
  else process.stderr.write(line);
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
      const b = ctx.bytes(ptr >>> 0, Math.min(len >>> 0, 4096));
      // A view, not a copy, of the guest's bytes: decoded to a string at once.
      logSink(ctx.manifest.name, level, Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));
    },
  }),
};
