import * as A from './abi.ts';
import * as C from './collectives.ts';
import type { Comm, MpiCore } from './core.ts';
import { pack, span, unpack, type Datatype } from './datatypes.ts';
import type { GuestMemory } from './guest-memory.ts';
import { reduce } from './ops.ts';
import { WIN_SLOTS, winSlotWords } from './sab-transport.ts';
import type { At, Buf, Member, WinImpl, WinWire } from './win.ts';

/**
 * Embedded windows: every rank's linear memory is a shared WebAssembly.Memory visible to every
 * rank (shared-memory.ts), so Put/Get are one copy between two ranks' memories, made by the
 * origin alone (MPI's unified model: no target progress needed, no copy of the window).
 * Synchronisation lives in a SharedArrayBuffer of control words per window slot (64 slots):
 *   lock[t]          passive-target lock of rank t's window: 0 free, n > 0 shared holders, -1 exclusive
 *   mutex[t]         held while an accumulate-type operation updates rank t's window, so each is
 *                    atomic per element with respect to every other one (MPI's accumulate rule)
 *   post[t][o]       epochs rank t has exposed to origin o (MPI_Win_post), counted
 *   complete[t][o]   access epochs origin o has completed at rank t (MPI_Win_complete), counted
 * Fence is a barrier on the window's communicator: its Atomics on the rings order every plain
 * store before it against every load after it. Waits run the core's progress loop (a rank waiting
 * for a lock still drains its messages) and whoever releases something rings the waiters' doorbells.
 */
export interface SharedWire {
  memories: WebAssembly.Memory[];
  ctl: SharedArrayBuffer;
  wake(rank: number): void;
}

export function sharedWindows(core: MpiCore, mem: GuestMemory, s: SharedWire, fail: (cls: number, d: string) => never): WinWire {
  const N = core.t.size, words = winSlotWords(N);
  const ctl = new Int32Array(s.ctl);
  const used = new Uint8Array(WIN_SLOTS);
  const views: Uint8Array[] = [];
  /** Rank w's memory, looked at again when it grew past the view. */
  const memOf = (w: number, end: number): Uint8Array => {
    let v = views[w];
    if (!v || v.length < end) v = views[w] = new Uint8Array(s.memories[w].buffer);
    if (v.length < end) fail(A.ERR.RMA_RANGE, `rank ${w}'s window reaches past its memory`);
    return v;
  };

  return {
    create(c: Comm, members: Member[]): WinImpl {
      // A slot free on every member: all-gather of each member's used bits.
      const mine = new Uint8Array(used);
      const all = C.run(core, C.allgather(core, c, mine));
      let slot = -1;
      for (let i = 0; i < WIN_SLOTS && slot < 0; i++) if (all.every((u) => u[i] === 0)) slot = i;
      if (slot < 0) fail(A.ERR.NO_MEM, `more than ${WIN_SLOTS} windows open at once`);
      used[slot] = 1;
      const base = slot * words;
      const LOCK = base, MUTEX = base + N, POST = base + 2 * N, DONE = base + 2 * N + N * N;
      const me = core.t.rank, world = c.group;
      const posted = new Map<number, number>(); // origin -> complete count to wait for
      const started = new Map<number, number>(); // target -> post count seen
      let startGroup: number[] = [], postGroup: number[] = [];
      const wakeAll = () => { for (const w of world) if (w !== me) s.wake(w); };
      const addr = (t: At) => members[t.rank].base + t.disp * members[t.rank].unit;

      const tryLock = (i: number, excl: boolean): boolean => {
        const v = Atomics.load(ctl, i);
        if (excl) return v === 0 && Atomics.compareExchange(ctl, i, 0, -1) === 0;
        return v >= 0 && Atomics.compareExchange(ctl, i, v, v + 1) === v;
      };
      const unlockWord = (i: number) => {
        if (Atomics.load(ctl, i) === -1) Atomics.store(ctl, i, 0);
        else Atomics.sub(ctl, i, 1);
        wakeAll();
      };
      /** Runs f holding rank w's accumulate mutex (short: no MPI progress inside). */
      const atomically = (w: number, f: () => void) => {
        const i = MUTEX + w;
        for (let spins = 0; Atomics.compareExchange(ctl, i, 0, 1) !== 0; spins++) if (spins > 1000) Atomics.wait(ctl, i, 1, 0.05);
        try {
          f();
        } finally {
          Atomics.store(ctl, i, 0);
          Atomics.notify(ctl, i);
        }
      };
      const combine = (op: number, d: Datatype, input: Uint8Array, inout: Uint8Array) => {
        const e = reduce(op, d.kind, input, inout);
        if (e) fail(A.ERR.OP, e);
      };
      const accumulate = (o: Buf, t: At, op: number, result: Buf | null) => {
        const w = world[t.rank], at = addr(t), tm = memOf(w, at + span(t.d, t.n));
        const origin = op === A.OP.NO_OP ? null : pack(mem.bytes(), o.ptr, o.n, o.d).slice();
        atomically(w, () => {
          const cur = pack(tm, at, t.n, t.d).slice();
          if (result) unpack(cur, mem.bytes(), result.ptr, result.n, result.d);
          if (!origin) return;
          combine(op, t.d, origin, cur);
          unpack(cur, tm, at, t.n, t.d);
        });
      };

      return {
        fence: () => C.run(core, C.barrier(core, c)),
        lock: (type, rank) => {
          const i = LOCK + world[rank];
          core.waitFor(() => tryLock(i, type === A.LOCK_EXCLUSIVE));
        },
        unlock: (rank) => unlockWord(LOCK + world[rank]),
        lockAll: () => { for (const w of world) core.waitFor(() => tryLock(LOCK + w, false)); },
        unlockAll: () => { for (const w of world) unlockWord(LOCK + w); },
        // Operations complete before they return: flushes only order memory (any Atomics op is a full fence).
        flush: () => { Atomics.load(ctl, base); },
        flushAll: () => { Atomics.load(ctl, base); },
        flushLocal: () => {},
        flushLocalAll: () => {},
        sync: () => { Atomics.load(ctl, base); },
        post: (ranks) => {
          postGroup = ranks.map((r) => world[r]);
          for (const o of postGroup) {
            posted.set(o, (posted.get(o) ?? Atomics.load(ctl, DONE + me * N + o)) + 1);
            Atomics.add(ctl, POST + me * N + o, 1);
            s.wake(o);
          }
        },
        start: (ranks) => {
          startGroup = ranks.map((r) => world[r]);
          for (const t of startGroup) {
            const need = (started.get(t) ?? 0) + 1;
            started.set(t, need);
            core.waitFor(() => Atomics.load(ctl, POST + t * N + me) >= need);
          }
        },
        complete: () => {
          for (const t of startGroup) {
            Atomics.add(ctl, DONE + t * N + me, 1);
            s.wake(t);
          }
          startGroup = [];
        },
        wait: () => core.waitFor(() => postGroup.every((o) => Atomics.load(ctl, DONE + me * N + o) >= posted.get(o)!)),
        test: () => {
          core.progress();
          return postGroup.every((o) => Atomics.load(ctl, DONE + me * N + o) >= posted.get(o)!);
        },
        put: (o, t) => {
          const w = world[t.rank], at = addr(t);
          unpack(pack(mem.bytes(), o.ptr, o.n, o.d), memOf(w, at + span(t.d, t.n)), at, t.n, t.d);
        },
        get: (o, t) => {
          const w = world[t.rank], at = addr(t);
          unpack(pack(memOf(w, at + span(t.d, t.n)), at, t.n, t.d), mem.bytes(), o.ptr, o.n, o.d);
        },
        accumulate: (o, t, op) => accumulate(o, t, op, null),
        getAccumulate: (o, r, t, op) => accumulate(o, t, op, r),
        fetchAndOp: (o, r, d, h, t, op) => accumulate({ ptr: o, n: 1, d, h }, t, op, { ptr: r, n: 1, d, h }),
        compareAndSwap: (o, cmp, r, d, _h, t) => {
          const w = world[t.rank], at = addr(t), tm = memOf(w, at + d.size);
          const m = mem.bytes();
          const want = m.slice(cmp, cmp + d.size), val = m.slice(o, o + d.size);
          atomically(w, () => {
            const cur = tm.slice(at, at + d.size);
            if (cur.every((b, i) => b === want[i])) tm.set(val, at);
            mem.bytes().set(cur, r);
          });
        },
        free: () => {
          C.run(core, C.barrier(core, c));
          // Only this rank's own rows: no member can use the slot again before this rank has
          // joined the next window's all-gather, which comes after this.
          Atomics.store(ctl, LOCK + me, 0);
          Atomics.store(ctl, MUTEX + me, 0);
          for (let o = 0; o < N; o++) {
            Atomics.store(ctl, POST + me * N + o, 0);
            Atomics.store(ctl, DONE + me * N + o, 0);
          }
          used[slot] = 0;
        },
      };
    },
  };
}
