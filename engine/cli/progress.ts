import { painter } from './colour.ts';

/** What long work reports. A step replaces the previous one; done/fail end the line. */
export interface Progress {
  /** The current step ("compiling hello (AssemblyScript)"). */
  step(text: string): void;
  /** New text for the current step, its clock kept ("2/4 ranks in MPI_Init"). */
  update(text: string): void;
  /** A line that stays (a warning, a guest log line) printed above the step. */
  note(text: string): void;
  /** Ends the current step; on a terminal leaves "✓ text (1.2 s)". */
  done(text?: string): void;
  fail(text?: string): void;
  /** Output of the work itself (a compiler's warnings, a child's stderr): always written to the stream,
   *  the spinner cleared before and redrawn after, so the two never share a line. */
  print(text: string | Uint8Array): void;
}

export interface ProgressOptions {
  /** --quiet or --json: report nothing. */
  quiet?: boolean;
  stream?: NodeJS.WriteStream;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/**
 * Progress on a terminal (a spinner with the step and its elapsed time, on stderr), nothing in pipes,
 * with --quiet or --json: output meant for programs stays clean. One module for every long command.
 */
export function progress(opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet || !stream.isTTY || process.env.CI) return silent(stream);
  return new Spinner(stream);
}

const silent = (stream: NodeJS.WriteStream): Progress => ({ step() {}, update() {}, note() {}, done() {}, fail() {}, print: (text) => void stream.write(text) });

class Spinner implements Progress {
  #stream: NodeJS.WriteStream;
  #paint: ReturnType<typeof painter>;
  #text = '';
  #since = 0;
  #frame = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(stream: NodeJS.WriteStream) {
    this.#stream = stream;
    this.#paint = painter(stream);
  }

  step(text: string): void {
    this.#text = text;
    this.#since = performance.now();
    if (!this.#timer) {
      this.#timer = setInterval(() => this.#draw(), 100);
      this.#timer.unref();
    }
    this.#draw();
  }

  update(text: string): void {
    if (!this.#timer) return this.step(text);
    this.#text = text;
    this.#draw();
  }

  note(text: string): void {
    this.#clear();
    this.#stream.write(`${text}\n`);
    if (this.#timer) this.#draw();
  }

  print(text: string | Uint8Array): void {
    if (text.length === 0) return;
    this.#clear();
    this.#stream.write(text);
    const last = typeof text === 'string' ? text.charCodeAt(text.length - 1) : text[text.length - 1];
    if (this.#timer && last === 10) this.#draw();
  }

  done(text?: string): void {
    this.#end(this.#paint('green', '✓'), text);
  }

  fail(text?: string): void {
    this.#end(this.#paint('red', '✗'), text);
  }

  #end(mark: string, text?: string): void {
    if (!this.#timer && text === undefined) return;
    const took = this.#timer ? ` ${this.#paint('dim', `(${seconds(performance.now() - this.#since)})`)}` : '';
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#clear();
    const line = text ?? this.#text;
    if (line) this.#stream.write(`${mark} ${line}${took}\n`);
    this.#text = '';
  }

  #draw(): void {
    const f = FRAMES[this.#frame++ % FRAMES.length]!;
    const cols = (this.#stream.columns || 80) - 12;
    const text = this.#text.length > cols ? this.#text.slice(0, cols - 1) + '…' : this.#text;
    this.#stream.write(`\r\x1b[K${this.#paint('cyan', f)} ${text} ${this.#paint('dim', seconds(performance.now() - this.#since))}`);
  }

  #clear(): void {
    this.#stream.write('\r\x1b[K');
  }
}
