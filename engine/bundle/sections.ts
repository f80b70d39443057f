import { Reader } from './leb.ts';

/** One section of a core module or a component: the framing both share (id byte, u32 size, body). */
export interface RawSection {
  id: number;
  /** Offset of the section id byte. */
  start: number;
  /** Body range (for a custom section, the body starts at its name). */
  bodyStart: number;
  end: number;
  /** Custom sections (id 0) only. */
  name?: string;
}

/**
 * Walks the sections after the 8-byte preamble of a core module or a component. Throws RangeError
 * when a section runs past the end or a custom section's name is malformed; section bodies are the
 * caller's to parse.
 */
export function* sections(bytes: Uint8Array): Generator<RawSection> {
  const r = new Reader(bytes, 8);
  while (!r.done) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    const bodyStart = r.pos;
    const end = bodyStart + size;
    if (end > bytes.length) throw new RangeError(`section ${id} runs past the end`);
    const s: RawSection = { id, start, bodyStart, end };
    if (id === 0) s.name = new Reader(bytes, bodyStart, end).name();
    yield s;
    r.pos = end;
  }
}
