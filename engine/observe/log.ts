/**
 * The one logger: every engine line and every guest log line (AS `log()`, a TS guest's console, a
 * component's stdout/stderr) goes through it. pino, for its stable JSON line format, levels and child
 * fields, used without transports (no extra threads beside our worker pool) and writing through
 * `process.stdout`: in a worker thread that stream is Node's pipe to the main thread, which writes each
 * chunk whole, so lines from many threads never interleave.
 *
 * Format: JSON lines when stdout is not a terminal (pipes, files, log collectors), human lines on a
 * terminal; ROAM_LOG_FORMAT=json|human overrides (worker threads inherit it with the environment, and
 * read the same fd 1 otherwise). Lines go to stdout; ROAM_LOG_STREAM=stderr sends them to stderr
 * (`roam run` does, as its stdout carries the replies). ROAM_LOG_LEVEL=debug|info|warn|error (default debug: guest debug lines
 * show).
 */
import { hostname } from 'node:os';
import { isatty } from 'node:tty';
import { isMainThread } from 'node:worker_threads';
import { pino, stdTimeFunctions, type Logger as Pino } from 'pino';

export type Level = 'debug' | 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;
export type Logger = (level: Level, msg: string, fields?: LogFields) => void;
export type LogFormat = 'json' | 'human';

/** Where log lines go: stdout (servers), or stderr for commands whose stdout carries results (`roam run`). */
export function logStream(): 'stdout' | 'stderr' {
  return process.env.ROAM_LOG_STREAM === 'stderr' ? 'stderr' : 'stdout';
}

export function logFormat(): LogFormat {
  const f = process.env.ROAM_LOG_FORMAT;
  if (f === 'json' || f === 'human') return f;
  return isatty(logStream() === 'stderr' ? 2 : 1) ? 'human' : 'json';
}

/**
 * Fixes the format (and the stream) for this process and the threads and processes it starts
 * afterwards: the environment carries them, so every thread writes the same way.
 */
export function setLogFormat(f: LogFormat | null, stream?: 'stdout' | 'stderr'): void {
  if (f) process.env.ROAM_LOG_FORMAT = f;
  if (stream) process.env.ROAM_LOG_STREAM = stream;
  root = undefined;
}

let root: Pino | undefined;

/** A pino logger writing finished lines (JSON, or human when `human`) to `write`. */
export function pinoTo(write: (line: string) => void, human = false): Pino {
  const level = process.env.ROAM_LOG_LEVEL;
  return pino(
    {
      level: level === 'info' || level === 'warn' || level === 'error' ? level : 'debug',
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    { write: human ? (s: string) => write(humanLine(s)) : write },
  );
}

/**
 * Lines of the main thread, written once per event-loop turn. The main thread is the network thread,
 * where tiny functions and handlers run inline: a write(2) per guest log line cost ~10 µs of it for each
 * hello `greet` request (19% of its busy time, --cpu-prof, bench:http at load ~10), as much as the rest
 * of the function call; 32 connections' lines now share one write. Lines keep their order; what is
 * pending is written when a batch passes 64 KiB, and at exit. Worker threads write each line at once (it
 * reaches the main thread as a message): a run the watchdog kills keeps the lines it logged.
 */
class TurnBatch {
  private lines: string[] = [];
  private bytes = 0;
  private scheduled = false;
  private hooked = false;
  /** Bound once: no closure per line (engine/README.md). */
  private readonly flushNow = () => this.flush();
  constructor(private readonly out: NodeJS.WritableStream) {}

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
    this.out.write(text);
  }
}

/** Where the root logger's finished lines go (set with it). */
let rootWrite: (line: string) => void = () => {};
/** Whether the root logger writes JSON (the guest fast path below builds JSON lines only). */
let rootJson = false;

function rootLogger(): Pino {
  if (root) return root;
  const out = logStream() === 'stderr' ? process.stderr : process.stdout;
  const batch = isMainThread ? new TurnBatch(out) : null;
  rootWrite = batch ? (line) => batch.push(line) : (line) => void out.write(line);
  rootJson = logFormat() === 'json';
  guestFields.clear();
  return (root = pinoTo(rootWrite, !rootJson));
}

/** The process's logger (a `Logger` function over pino). */
export const log: Logger = (level, msg, fields) => {
  if (fields) rootLogger()[level](fields, msg);
  else rootLogger()[level](msg);
};

/** The `"source":"guest","bundle":…,` part of a guest line, per (bundle, function, tenant); bounded. */
const guestFields = new Map<string, string>();
const BASE = `"pid":${process.pid},"hostname":${JSON.stringify(hostname())},`;

function guestPart(bundle: string, fn: string | undefined, tenant: string | undefined): string {
  const key = `${bundle}\0${fn ?? ''}\0${tenant ?? ''}`;
  let part = guestFields.get(key);
  if (part === undefined) {
    if (guestFields.size >= 4096) guestFields.clear();
    part = `${BASE}"source":"guest","bundle":${JSON.stringify(bundle)},${fn ? `"function":${JSON.stringify(fn)},` : ''}${tenant ? `"tenant":${JSON.stringify(tenant)},` : ''}`;
    guestFields.set(key, part);
  }
  return part;
}

/**
 * A guest's log line: the same line pino writes (level, time, pid, hostname, source, bundle, function,
 * tenant, msg), built from a cached field prefix when the logger writes JSON. Guest lines sit on the
 * function path (hello `greet` logs once per request): through pino's child fields a line cost 3.3 µs of
 * the network thread, built here ~0.6 µs (bench:http, 2 cores). Human lines go through pino.
 */
export function guestLine(level: Level, msg: string, bundle: string, fn: string | undefined, tenant: string | undefined): void {
  const p = rootLogger();
  if (!p.isLevelEnabled(level)) return;
  if (!rootJson) return void p[level]({ source: 'guest', bundle, ...(fn ? { function: fn } : {}), ...(tenant ? { tenant } : {}) }, msg);
  rootWrite(`{"level":"${level}","time":"${isoNow()}",${guestPart(bundle, fn, tenant)}"msg":${JSON.stringify(msg)}}\n`);
}

let isoMs = 0;
let isoText = '';
/** The time as pino's isoTime writes it, formatted once per millisecond (toISOString is ~1 µs here). */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    isoText = new Date(ms).toISOString();
  }
  return isoText;
}

/** A Logger writing JSON lines to `write` (tests, embedders with a sink of their own). */
export function jsonLogger(write: (line: string) => void): Logger {
  const p = pinoTo(write);
  return (level, msg, fields) => (fields ? p[level](fields, msg) : p[level](msg));
}

export const silentLogger: Logger = () => {};

/** Engine-internal keys left out of a human line. */
const QUIET = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'bundle', 'function', 'tenant', 'source']);

/** A JSON line as a person reads it: `roam: msg key=value` (warn/error say so), a guest's as `[bundle] level: msg`. */
export function humanLine(json: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(json);
  } catch {
    return json;
  }
  const level = String(o.level);
  const extra = Object.entries(o)
    .filter(([k, v]) => !QUIET.has(k) && !(typeof v === 'string' && String(o.msg).includes(v))) // a value the message already says
    .map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('');
  if (o.source === 'guest') return `[${o.bundle}] ${level}: ${o.msg}${extra}\n`;
  return `roam: ${level === 'info' || level === 'debug' ? '' : `${level}: `}${o.msg}${extra}\n`;
}
