/**
 * Gives memory back after a connection that held big output closes (issue 19: a slow reader's 400 MiB of
 * replies left the server 25–60 MiB above its baseline after it closed). What stays is garbage: reply
 * buffers external to V8's heap, which V8 frees at its next collection (started only past ~64 MiB of new
 * external memory), and freed heap that glibc keeps for reuse. So after such a close, on a later turn of
 * the event loop: one full garbage collection, then malloc_trim(0) through the roam_netio addon.
 *
 * Rate-limited: at most one per `minGapMs` (default 1 s); requests meanwhile are coalesced into one at the
 * end of the gap, so a crowd of closing connections costs one collection (~5–20 ms on this heap), not one
 * each. `gc` comes from V8's --expose-gc flag set at run time and read in a fresh context (the process is
 * not started with the flag, and the global `gc` stays undefined for guests' hosts and everyone else).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { trimHeap } from './native-net.ts';

let collect: (() => void) | null | undefined;

function gcFunction(): (() => void) | null {
  if (collect !== undefined) return collect;
  try {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  } catch {
    collect = null;
  }
  return collect;
}

export interface ReliefStats {
  /** Reliefs run (a collection and a trim each). */
  runs: number;
  /** Requests (big connections closed). */
  requests: number;
}

export class MemoryRelief {
  readonly stats: ReliefStats = { runs: 0, requests: 0 };
  private last = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly minGapMs = 1000) {}

  /** A connection with big output closed: collect and trim soon (once per gap however many ask). */
  request(): void {
    this.stats.requests++;
    if (this.timer) return;
    const wait = Math.max(0, this.last + this.minGapMs - performance.now());
    this.timer = setTimeout(() => this.run(), wait);
    this.timer.unref();
  }

  private run(): void {
    this.timer = null;
    this.last = performance.now();
    gcFunction()?.();
    trimHeap();
    this.stats.runs++;
  }
}

/** The process's one relief (the wire server and the HTTP gateway share its rate limit). */
export const memoryRelief = new MemoryRelief();
