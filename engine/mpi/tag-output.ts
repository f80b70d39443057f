import { writeSync } from 'node:fs';

/**
 * `roam mpirun --tag-output`: a guest's stdout/stderr lines get a rank prefix (`[0] `, as MPICH's
 * `mpiexec -prepend-rank` writes it). WASI's fd_write for fds 1 and 2 is replaced by one that
 * splits the guest's bytes into lines and writes each batch of whole lines, prefixed, with one
 * write(2): lines from different ranks never interleave mid-line (a pipe write up to 4 KiB is
 * atomic). A partial line waits for its newline, or for `flush` when the rank ends.
 */

const ESUCCESS = 0, EIO = 29, EPIPE = 64;

export interface TaggedStdio {
  /** Writes what is left of an unterminated last line (with a newline). */
  flush(): void;
}

export function tagStdio(wasi: WebAssembly.ModuleImports, memory: () => WebAssembly.Memory, prefix: string): TaggedStdio {
  const tag = Buffer.from(prefix);
  const pending: Record<number, Buffer> = { 1: Buffer.alloc(0), 2: Buffer.alloc(0) };
  const original = wasi.fd_write as (fd: number, iovs: number, n: number, written: number) => number;

  const emit = (fd: number, data: Buffer) => {
    let off = 0;
    while (off < data.length) {
      try {
        off += writeSync(fd, data, off);
      } catch (e) {
        // The job's stdout may be a non-blocking pipe that is full: wait 1 ms for the reader.
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        else throw e;
      }
    }
  };
  const lines = (fd: number, bytes: Buffer) => {
    const all = pending[fd].length ? Buffer.concat([pending[fd], bytes]) : bytes;
    const out: Buffer[] = [];
    let start = 0;
    for (let nl = all.indexOf(10); nl !== -1; nl = all.indexOf(10, start)) {
      out.push(tag, all.subarray(start, nl + 1));
      start = nl + 1;
    }
    pending[fd] = Buffer.from(all.subarray(start));
    if (out.length) emit(fd, Buffer.concat(out));
  };

  wasi.fd_write = (fd: number, iovs: number, n: number, written: number): number => {
    if (fd !== 1 && fd !== 2) return original(fd, iovs, n, written);
    try {
      const buf = memory().buffer;
      const view = new DataView(buf);
      const parts: Buffer[] = [];
      let total = 0;
      for (let i = 0; i < n; i++) {
        const ptr = view.getUint32(iovs + 8 * i, true), len = view.getUint32(iovs + 8 * i + 4, true);
        parts.push(Buffer.from(buf, ptr, len));
        total += len;
      }
      lines(fd, Buffer.concat(parts, total));
      view.setUint32(written, total, true);
      return ESUCCESS;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPIPE' ? EPIPE : EIO;
    }
  };

  return {
    flush() {
      for (const fd of [1, 2]) {
        if (!pending[fd].length) continue;
        const rest = pending[fd];
        pending[fd] = Buffer.alloc(0);
        try {
          emit(fd, Buffer.concat([tag, rest, Buffer.from('\n')]));
        } catch {
          // the reader went away; nothing left to tell
        }
      }
    },
  };
}
