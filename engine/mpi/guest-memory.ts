/** Bounds-checked access to a guest's linear memory; views are re-taken after memory.grow. */
export class GuestMemory {
  private buf: ArrayBuffer | null = null;
  private u8!: Uint8Array;
  private dv!: DataView;
  /** `rebound` is told of every new buffer (the native wire keeps a pointer to the memory). */
  constructor(
    private readonly memory: () => WebAssembly.Memory,
    private readonly fail: (detail: string) => never,
    private readonly rebound?: (buf: ArrayBuffer) => void,
  ) {}

  /**
   * The memory's bytes. Memory.buffer is a C++ getter that costs as much as the rest of a send's
   * checks, so the view is kept until it reads length 0: memory.grow detaches the old buffer.
   * (A shared memory's old buffer stays valid but short: check() then looks again.)
   */
  bytes(): Uint8Array {
    if (!this.buf || this.u8.length === 0) this.refresh();
    return this.u8;
  }
  private refresh(): void {
    const b = this.memory().buffer as ArrayBuffer;
    if (b !== this.buf) {
      this.buf = b;
      this.u8 = new Uint8Array(b);
      this.dv = new DataView(b);
      this.rebound?.(b);
    }
  }
  private view(): DataView {
    this.bytes();
    return this.dv;
  }
  /** Throws naming the range when [ptr, ptr+len) is not inside linear memory. */
  check(ptr: number, len: number, what = 'buffer'): void {
    if (!this.inside(ptr, len)) this.fail(`${what} [${ptr >>> 0}, ${(ptr >>> 0) + len}) is outside the guest's linear memory (${this.u8.length} bytes)`);
  }
  /** Whether [ptr, ptr+len) lies in linear memory (looking again at the memory when not in the view). */
  inside(ptr: number, len: number): boolean {
    if (!(ptr >= 0 && len >= 0 && Number.isInteger(len))) return false;
    if (ptr + len <= this.bytes().length) return true;
    this.refresh();
    return ptr + len <= this.u8.length;
  }
  range(ptr: number, len: number, what?: string): Uint8Array {
    this.check(ptr, len, what);
    return this.bytes().subarray(ptr, ptr + len);
  }
  i32(ptr: number): number {
    this.check(ptr, 4, 'int argument');
    return this.view().getInt32(ptr, true);
  }
  setI32(ptr: number, v: number): void {
    this.check(ptr, 4, 'int result');
    this.view().setInt32(ptr, v, true);
  }
  setF64(ptr: number, v: number): void {
    this.check(ptr, 8, 'double result');
    this.view().setFloat64(ptr, v, true);
  }
  /** Writes an MPI_Status {SOURCE, TAG, ERROR, count bytes in internal[0..1], 0...} field by field. */
  /** (internal[2] holds the cancelled flag MPI_Test_cancelled reads.) */
  setStatus(ptr: number, source: number, tag: number, bytes: number, cancelled = false): void {
    this.check(ptr, 32, 'MPI_Status');
    const dv = this.dv;
    dv.setInt32(ptr, source, true);
    dv.setInt32(ptr + 4, tag, true);
    for (let i = 8; i < 32; i += 4) dv.setInt32(ptr + i, 0, true);
    dv.setInt32(ptr + 12, bytes, true);
    if (cancelled) dv.setInt32(ptr + 20, 1, true);
  }
  i32s(ptr: number, n: number, what: string): number[] {
    this.check(ptr, n * 4, what);
    const dv = this.view();
    return Array.from({ length: n }, (_, i) => dv.getInt32(ptr + 4 * i, true));
  }
  setI32s(ptr: number, vals: number[], what: string): void {
    this.check(ptr, vals.length * 4, what);
    const dv = this.view();
    vals.forEach((v, i) => dv.setInt32(ptr + 4 * i, v, true));
  }
  string(ptr: number, s: string, max: number): number {
    const enc = new TextEncoder().encode(s).subarray(0, max - 1);
    this.range(ptr, enc.length + 1, 'string').set([...enc, 0]);
    return enc.length;
  }
}
