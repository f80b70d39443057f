// The per-call floor of a Wasm guest's MPI call on the native path, without libmpi: what a call
// through each layer costs on this machine. Run by bench:mpi (or alone: node --import tsx
// benchmarks/mpi/floor.ts); prints one "floor NAME NS" line per layer.
//   wasm->js       a Wasm import that is an empty JS function
//   wasm->js->napi the same calling the addon's empty function (N-API, no arguments)
//   MPI_Send fast  roam's MPI_Send import (checks, Int32Array arguments) on a stub wire
//   MPI_Recv fast  roam's MPI_Recv import likewise
//   ...+napi       the MPI_Send / MPI_Recv imports with the addon's empty function as the wire's call
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { mpiImports } from '../../engine/mpi/imports.ts';
import type { Transport } from '../../engine/mpi/transport.ts';

const require = createRequire(import.meta.url);
const { mpi } = require('../../native-host/build/Release/roam_native.node') as { mpi: { nop(): void } };

// A module importing m.f(i32 x 7) -> i32 and exporting run(n): calls f(1024, 4, MPI_BYTE, 1, 7, MPI_COMM_WORLD, 0) n times.
const sec = (id: number, body: number[]) => [id, body.length, ...body];
const leb = (v: number) => { const o = []; do { let b = v & 0x7f; v >>>= 7; if (v) b |= 0x80; o.push(b); } while (v); return o; };
const args = [1024, 4, 0x247, 1, 7, 0x101, 0].flatMap((v) => [0x41, ...leb(v)]);
const body = [1, 1, 0x7f, 0x03, 0x40, ...args, 0x10, 0, 0x1a, 0x20, 1, 0x41, 1, 0x6a, 0x22, 1, 0x20, 0, 0x48, 0x0d, 0, 0x0b, 0x0b];
const wasm = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
  ...sec(1, [2, 0x60, 7, ...Array(7).fill(0x7f), 1, 0x7f, 0x60, 1, 0x7f, 0]),
  ...sec(2, [1, 1, 0x6d, 1, 0x66, 0, 0]),
  ...sec(3, [1, 1]),
  ...sec(5, [1, 0, 2]),
  ...sec(7, [2, 3, 0x72, 0x75, 0x6e, 0, 1, 3, 0x6d, 0x65, 0x6d, 2, 0]),
  ...sec(10, [1, body.length, ...body])]);
const mod = new WebAssembly.Module(wasm);

function stubWire(call: () => void): Transport {
  const io = new Int32Array(16);
  return {
    rank: 0, size: 2, tagUb: 1 << 30, syncSends: true,
    direct: { io, memory() {}, send: () => (call(), 0), sendDone: () => true, recv: () => (call(), (io[7] = 4), 1), isend: () => (call(), 1), irecv: () => (call(), 1), test: () => 1, cancel() {} },
    send: () => ({ done: true }), progress: () => false, poll: () => null, take: () => new Uint8Array(0),
    idle() {}, seq: () => 0, wtime: () => 0, abort: () => { throw new Error('abort'); }, finalize() {}, processorName: () => 'floor',
  };
}
/** The module's run(n) with f as its import, tiered up (3e5 calls). */
function runner(f: (...a: number[]) => number, bind?: (memory: WebAssembly.Memory) => void): (n: number) => void {
  const inst = new WebAssembly.Instance(mod, { m: { f } });
  bind?.(inst.exports.mem as WebAssembly.Memory);
  const run = inst.exports.run as (n: number) => void;
  run(300_000);
  return run;
}
function viaImports(name: 'MPI_Send' | 'MPI_Recv', call: () => void): (n: number) => void {
  let memory!: WebAssembly.Memory;
  const { imports } = mpiImports(stubWire(call), () => ({ memory }));
  return runner(imports[name], (m) => (memory = m));
}
const nop = mpi.nop;
const LAYERS: Record<string, () => (n: number) => void> = {
  'wasm->js': () => runner(() => 0),
  'wasm->js->napi': () => runner(() => (nop(), 0)),
  MPI_Send_fast: () => viaImports('MPI_Send', () => {}),
  MPI_Recv_fast: () => viaImports('MPI_Recv', () => {}),
  'MPI_Send_fast+napi': () => viaImports('MPI_Send', nop),
  'MPI_Recv_fast+napi': () => viaImports('MPI_Recv', nop),
};

// Each layer in its own process: layers share roam's import code, and V8's type feedback from one
// (a stub wire calling a JS function) made another (the same code calling the addon) look 40 ns slower
// per call than it is alone, as a real rank runs it. 3 alternating passes of 5 runs each, the best per
// layer: other work on the machine only ever adds time.
const only = process.argv[2];
if (only) {
  const run = LAYERS[only]!();
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const n = 500_000, t0 = process.hrtime.bigint();
    run(n);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / n);
  }
  console.log(best);
} else {
  const best: Record<string, number> = {};
  for (let pass = 0; pass < 3; pass++)
    for (const k of Object.keys(LAYERS)) {
      const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), k], { encoding: 'utf8' });
      best[k] = Math.min(best[k] ?? Infinity, Number(out.trim().split('\n').at(-1)));
    }
  for (const k of Object.keys(LAYERS)) console.log(`floor ${k} ${best[k]!.toFixed(1)}`);
}
