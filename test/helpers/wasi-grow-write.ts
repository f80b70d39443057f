// Child of test/wasi-fast-call-gc.test.ts (a crash must not take vitest with it): runs, on roam's
// createWasi, a guest that grows its linear memory past V8's 64 MiB external-memory soft limit (and
// a little more between calls) and calls fd_write WRITES times from TurboFan code (--no-liftoff, as MPI ranks run), each
// writing "ok\n" to its stdout, the file OUT (a pipe's end may be non-blocking: EAGAIN would drop
// lines). argv: WRITES OUT.
import { openSync } from 'node:fs';
import { assemble } from './wasm.ts';
import { createWasi } from '../../engine/wasi/index.ts';

const writes = Number(process.argv[2] ?? 200);
const I32 = (v: number) => [0x41, ...sleb(v)];
function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(b & 0x40)) || (v === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}
const store = (addr: number, v: number) => [...I32(addr), ...I32(v), 0x36, 2, 0]; // i32.store align=4
const bytes = assemble({
  imports: [{ module: 'wasi_snapshot_preview1', name: 'fd_write', type: [['i32', 'i32', 'i32', 'i32'], ['i32']] }],
  memory: [1],
  functions: [
    {
      type: [[], []],
      locals: ['i32'],
      body: [
        ...I32(4096), 0x40, 0, 0x1a, // memory.grow by 256 MiB (reserved, never touched); drop
        ...store(16, 0x0a6b6f), // "ok\n" at 16
        ...store(0, 16), ...store(4, 3), // iovec {buf 16, len 3} at 0
        0x03, 0x40, // loop
        ...I32(1), ...I32(0), ...I32(1), ...I32(8), 0x10, 0, 0x1a, // fd_write(1, iovs 0, 1, nwritten 8); drop
        ...I32(8), 0x40, 0, 0x1a, // memory.grow by 512 KiB between calls: V8 sees external memory rise again; drop
        0x20, 0, ...I32(1), 0x6a, 0x22, 0, ...I32(writes), 0x48, 0x0d, 0, // i++ < writes: br_if loop
        0x0b,
      ],
    },
  ],
  exports: [{ name: 'memory', memory: true }, { name: '_start', func: 1 }],
});
const wasi = createWasi({ args: ['grow-write'], stdout: openSync(process.argv[3]!, 'w') });
const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>), { wasi_snapshot_preview1: wasi.imports });
process.exitCode = wasi.start(instance);
