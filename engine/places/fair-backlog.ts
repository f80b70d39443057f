import { Fifo } from './fifo.ts';
import type { Pending } from './types.ts';

interface Flow {
  queue: Fifo<Pending>;
  /** Service time (ns) this flow may still take in the current round. */
  deficit: number;
  active: boolean;
  /** Its next turn starts a round: it is credited one quantum (× weight) then, once. */
  newRound: boolean;
  /** Payload bytes waiting. */
  bytes: number;
}

/** Time a weight-1 flow gets per round, ns: one slow message or many quick ones. */
const QUANTUM_NS = 1_000_000;
/** What a message whose handler was never measured is charged, ns. */
const MIN_COST_NS = 1_000;

/**
 * Messages waiting for a host worker, queued per bundle and served by deficit round robin over their
 * measured service time (Shreedhar and Varghese's DRR, charged in guest time as the functions' fair
 * scheduler is): a bundle that floods the host with slow messages waits its turn, and other bundles —
 * other tenants' above all — keep theirs. A bundle's weight is its tenant's.
 */
export class FairBacklog {
  private readonly flows = new Map<number, Flow>();
  /** Flows with messages, in round-robin order (the head is served next). */
  private readonly ring = new Fifo<number>();
  private total = 0;

  constructor(
    /** Measured service time of a bundle's handler, ns (0 when unknown). */
    private readonly cost: (bundle: number, handler: number) => number,
    /** The bundle's weight (its tenant's; 1 by default). */
    private readonly weight: (bundle: number) => number = () => 1,
  ) {}

  get length(): number {
    return this.total;
  }

  /** Messages of this bundle waiting. */
  lengthOf(bundle: number): number {
    return this.flows.get(bundle)?.queue.length ?? 0;
  }

  /** Payload bytes of this bundle waiting. */
  bytesOf(bundle: number): number {
    return this.flows.get(bundle)?.bytes ?? 0;
  }

  push(p: Pending): void {
    const f = this.flowOf(p.bundle);
    f.queue.push(p);
    f.bytes += p.payload.length;
    this.total++;
    if (!f.active) {
      f.active = true;
      this.ring.push(p.bundle);
    }
  }

  /** The next message in DRR order, or undefined when none waits. */
  shift(): Pending | undefined {
    while (this.total > 0) {
      const bundle = this.ring.shift()!;
      const f = this.flows.get(bundle)!;
      const head = f.queue.peek();
      if (!head) {
        this.retire(bundle, f);
        continue;
      }
      if (f.newRound) {
        f.deficit += QUANTUM_NS * Math.max(0.01, this.weight(bundle));
        f.newRound = false;
      }
      const c = this.charge(head);
      if (f.deficit < c) {
        // Its turn is over: to the back of the line, keeping what credit it has.
        f.newRound = true;
        this.ring.push(bundle);
        continue;
      }
      f.queue.shift();
      f.bytes -= head.payload.length;
      f.deficit -= c;
      this.total--;
      // Its turn goes on while its credit lasts (a turn is a quantum of time, not one message).
      if (f.queue.length > 0) this.ring.unshiftFirst(bundle);
      else this.retire(bundle, f);
      return head;
    }
    return undefined;
  }

  /** Puts back the message `shift` just returned (it found no room): first in its flow, its flow first, its charge refunded. */
  unshift(p: Pending): void {
    const f = this.flowOf(p.bundle);
    f.queue.unshiftFirst(p);
    f.bytes += p.payload.length;
    f.deficit += this.charge(p);
    f.newRound = false;
    this.total++;
    if (!f.active) {
      f.active = true;
      this.ring.unshiftFirst(p.bundle);
    }
  }

  private charge(p: Pending): number {
    return Math.max(MIN_COST_NS, this.cost(p.bundle, p.handler));
  }

  private flowOf(bundle: number): Flow {
    let f = this.flows.get(bundle);
    if (!f) this.flows.set(bundle, (f = { queue: new Fifo<Pending>(), deficit: 0, active: false, newRound: true, bytes: 0 }));
    return f;
  }

  /** A flow with nothing waiting leaves the round robin and forgets its credit (DRR). */
  private retire(bundle: number, f: Flow): void {
    f.active = false;
    this.flows.delete(bundle);
  }

  /** Removes and returns every waiting message. */
  drain(): Pending[] {
    const all: Pending[] = [];
    for (const f of this.flows.values()) all.push(...f.queue.drain());
    this.flows.clear();
    this.ring.drain();
    this.total = 0;
    return all;
  }
}
