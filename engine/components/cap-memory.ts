import { RoamError } from '../errors.ts';
import { concat, Reader, section, u32leb } from '../bundle/leb.ts';
import { sections } from '../bundle/sections.ts';

const SECTION_MEMORY = 5;

/**
 * Gives every memory a core module defines a maximum of at most `pages` (64 KiB each), so the
 * component's linear memory cannot grow past the manifest's cap (a worker's resourceLimits do not
 * cap Wasm memory). Refuses a module whose initial memory already exceeds the cap.
 */
export function capMemory(bytes: Uint8Array, pages: number, what: string): Uint8Array {
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let changed = false;
  for (const { id, start, bodyStart, end } of sections(bytes)) {
    if (id === SECTION_MEMORY) {
      const b = new Reader(bytes, bodyStart, end);
      const out: number[] = [];
      const count = b.u32();
      out.push(...u32leb(count));
      for (let i = 0; i < count; i++) {
        const flags = b.byte();
        if (flags & 0x04) throw new RoamError('E_LIMIT', `${what}: 64-bit memories are not supported`);
        const min = b.u32();
        const max = flags & 0x01 ? b.u32() : undefined;
        if (min > pages) throw new RoamError('E_LIMIT', `${what}: initial memory is ${min} pages, over the cap of ${pages} pages (raise limits.memoryPages)`);
        out.push(flags | 0x01, ...u32leb(min), ...u32leb(Math.min(max ?? pages, pages)));
      }
      parts.push(section(SECTION_MEMORY, out));
      changed = true;
    } else parts.push(bytes.subarray(start, end));
  }
  return changed ? concat(parts) : bytes;
}
