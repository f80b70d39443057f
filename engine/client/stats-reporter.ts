/**
 * The client place's side of the dashboard's `client` row: counts what the client place ran (messages,
 * errors, reply-time histogram; the queue is read when reporting) and sends the differences to the server
 * in a CLIENT_STATS frame (engine/wire/client-stats.ts) every 250 ms — only while the server says a
 * dashboard watches. The first report goes once the client place has run a message; the server's answer
 * says go on or stop; a stopped reporter waits for the server's wake-up frame. Nothing is sent while no
 * dashboard is open, or to a server that does not know the frame (it answers E_FRAME: the reporter stops
 * for good). A report the server refuses is dropped (its counts are not sent again).
 */
import { LATENCY_BUCKETS, LatencyCounts } from '../places/latency.ts';
import { encodeClientReport, REPORT_MORE } from '../wire/client-stats.ts';

export const REPORT_MS = 250;
/** While nothing changed, a report (a heartbeat that learns when the dashboard closed) every this many ticks. */
const IDLE_TICKS = 8;

/** Sends one report; resolves with the server's answer byte, rejects as a request does. */
export type SendReport = (payload: Uint8Array) => Promise<Uint8Array>;

export class ClientStatsReporter {
  private readonly counts = new LatencyCounts();
  private readonly sent = new Float64Array(LATENCY_BUCKETS);
  private messages = 0;
  private errors = 0;
  private sentMessages = 0;
  private sentErrors = 0;
  private sentQueue = 0;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private inFlight = false;
  private idle = 0;
  private off = false;

  constructor(private readonly send: SendReport, private readonly queue: () => number) {}

  /** One client-place message finished after `ms` (from the call to its reply). */
  record(ms: number, ok: boolean): void {
    this.counts.record(ms);
    this.messages++;
    if (!ok) this.errors++;
    // The first message announces this client place to the server (which then can wake it).
    if (!this.started) {
      this.started = true;
      this.report();
    }
  }

  /** The server's wake-up frame (a dashboard opened), or its answer "go on": the next report in 250 ms.
   *  Counted from the answer, not the last send, so reports reach the server at least that far apart
   *  however late answers come (it refuses two within 100 ms). */
  wake(): void {
    if (this.off || this.timer || this.inFlight) return;
    this.timer = setTimeout(() => this.tick(), REPORT_MS);
    this.timer.unref();
  }

  close(): void {
    this.off = true;
    this.stop();
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    this.timer = undefined;
    const q = this.queue();
    if (this.messages === this.sentMessages && q === this.sentQueue && ++this.idle < IDLE_TICKS) return this.wake();
    this.idle = 0;
    this.report();
  }

  private report(): void {
    if (this.inFlight || this.off) return;
    this.stop();
    const latency = new Float64Array(LATENCY_BUCKETS);
    for (let i = 0; i < LATENCY_BUCKETS; i++) latency[i] = this.counts.counts[i]! - this.sent[i]!;
    const queue = this.queue();
    const payload = encodeClientReport({ messages: this.messages - this.sentMessages, errors: this.errors - this.sentErrors, queue, latency });
    // Counted as sent now: a refused report is dropped, never sent twice.
    this.sent.set(this.counts.counts);
    this.sentMessages = this.messages;
    this.sentErrors = this.errors;
    this.sentQueue = queue;
    this.inFlight = true;
    this.send(payload).then(
      (a) => {
        this.inFlight = false;
        if (a[0] === REPORT_MORE) this.wake();
        else this.stop();
      },
      (e: { code?: string }) => {
        this.inFlight = false;
        // A server without CLIENT_STATS, or a closed connection: no more reports. A refused one is dropped.
        if (e.code === 'E_FRAME' || e.code === 'E_DISCONNECTED') this.close();
      },
    );
  }
}
