import type { FrameDecoder } from './decoder.ts';
import type { ByteStream } from './native-net.ts';
import type { OutBuffer } from './out-buffer.ts';

/**
 * Output backpressure for one wire connection. A peer may pipeline any number of requests, but a peer that
 * does not read its replies must not make the server hold them: 400 pipelined 1 MiB REGION_READs (9.6 KB
 * sent) once grew the server by 535 MB. So when a connection's unsent reply bytes pass `highWater`, or its
 * calls in flight pass `maxInflight`, the connection stops being decoded (the rest of the chunk waits,
 * copied) and stops being read; it resumes once the kernel has taken the replies and the calls are down
 * to half. `maxQueued` is the hard cap for what backpressure cannot stop (replies of calls already in
 * flight, one large reply): past it the connection is closed with a log line.
 */
export interface FlowLimits {
  /** Unsent reply bytes at which decoding and reading stop (default 4 MiB). */
  highWater: number;
  /** Calls in flight at which decoding and reading stop (default 1024). */
  maxInflight: number;
  /** Unsent reply bytes at which the connection is closed (default 64 MiB). */
  maxQueued: number;
}

export const DEFAULT_FLOW: FlowLimits = { highWater: 4 << 20, maxInflight: 1024, maxQueued: 64 << 20 };

export class WireFlow {
  /** Calls routed to a place and not answered yet. */
  inflight = 0;
  private held = false;
  private resumeQueued = false;
  private peerEnded = false;

  constructor(
    private readonly stream: ByteStream,
    private readonly out: OutBuffer,
    private readonly decoder: FrameDecoder,
    private readonly limits: FlowLimits,
    private readonly onOverflow: (queued: number) => void,
    private readonly onHold: (held: boolean) => void,
  ) {}

  /** After a frame was handled (per frame, so only JS fields: the socket's queue is read at flushes). */
  check(): void {
    if (this.held || (this.inflight < this.limits.maxInflight && this.out.length <= this.limits.highWater)) return;
    this.hold();
  }

  private hold(): void {
    this.held = true;
    this.decoder.hold = true;
    this.stream.pause(true);
    this.onHold(true);
  }

  /** After a flush: closes a connection past the hard cap, or releases a held one that is back under. */
  flushed(): void {
    const queued = this.out.length + this.stream.pending();
    if (queued > this.limits.maxQueued) return this.onOverflow(queued);
    if (this.held) this.release();
    else if (queued > this.limits.highWater) this.hold();
  }

  /** A call answered (its reply is in the out buffer). */
  answered(): void {
    this.inflight--;
    if (this.held) this.release();
    else if (this.peerEnded) this.endIfDone();
  }

  /**
   * The peer half-closed (Node's sockets; roam_netio handles its EOF itself, and reads none while held):
   * the connection ends once every request it sent is decoded and answered, not before.
   */
  peerEnd(): void {
    this.peerEnded = true;
    this.endIfDone();
  }

  private endIfDone(): void {
    if (!this.peerEnded || this.held || this.inflight > 0) return;
    this.peerEnded = false;
    this.out.flush();
    this.stream.end();
  }

  /** Resumes when the replies are sent and the calls in flight are down to half; decoding restarts on a
   *  fresh turn, never inside a place's completion or the native read callback. */
  release(): void {
    if (this.resumeQueued || this.inflight > this.limits.maxInflight >> 1 || this.out.length + this.stream.pending() > 0) return;
    this.resumeQueued = true;
    setImmediate(() => {
      this.resumeQueued = false;
      if (!this.held) return;
      this.held = false;
      this.onHold(false);
      this.stream.pause(false);
      this.decoder.resume();
      this.check();
      // Out now, as after a read: roam_netio keeps a connection whose peer sent EOF only while replies are queued.
      this.out.flush();
      this.endIfDone();
    });
  }
}
