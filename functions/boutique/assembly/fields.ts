// The payload the boutique services pass along: "key=value" lines, each service adding its own.
export class Fields {
  keys: string[] = [];
  values: string[] = [];

  /** "key=value" entries separated by `sep` (lines in bodies; ";" in the header-safe call state). */
  static parse(text: string, sep: string = "\n"): Fields {
    const f = new Fields();
    const lines = text.split(sep);
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i];
      const eq = l.indexOf("=");
      if (eq <= 0) continue;
      f.keys.push(l.substring(0, eq));
      f.values.push(l.substring(eq + 1));
    }
    return f;
  }

  get(key: string): string {
    for (let i = this.keys.length - 1; i >= 0; i--) if (this.keys[i] == key) return this.values[i];
    return "";
  }

  all(key: string): string[] {
    const out = new Array<string>();
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) out.push(this.values[i]);
    return out;
  }

  set(key: string, value: string): void {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] == key) { this.values[i] = value; return; }
    this.keys.push(key);
    this.values.push(value);
  }

  add(key: string, value: string): void {
    this.keys.push(key);
    this.values.push(value);
  }

  drop(key: string): void {
    const k = new Array<string>();
    const v = new Array<string>();
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] != key) { k.push(this.keys[i]); v.push(this.values[i]); }
    this.keys = k;
    this.values = v;
  }

  text(sep: string = "\n"): string {
    const parts = new Array<string>(this.keys.length * 4);
    for (let i = 0; i < this.keys.length; i++) {
      parts[4 * i] = this.keys[i];
      parts[4 * i + 1] = "=";
      parts[4 * i + 2] = this.values[i];
      parts[4 * i + 3] = sep;
    }
    return parts.join("");
  }
}

/** FNV-1a over a string's UTF-16 code units, `rounds` times (stands in for token checks, hashing). */
export function fnv(s: string, rounds: i32 = 1): u64 {
  let h: u64 = 0xcbf29ce484222325;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < s.length; i++) {
      h ^= <u64>s.charCodeAt(i);
      h *= 0x100000001b3;
    }
    h ^= <u64>r;
  }
  return h;
}

export function hex(h: u64, digits: i32): string {
  const d = "0123456789abcdef";
  let s = "";
  for (let i = 0; i < digits; i++) {
    s += d.charAt(<i32>(h & 15));
    h >>= 4;
  }
  return s;
}

/** Money as nanos of a unit (Online Boutique keeps units + nanos). */
export function money(nanos: i64): string {
  const units = nanos / 1000000000;
  let cents = (nanos % 1000000000) / 10000000;
  if (cents < 0) cents = -cents;
  return units.toString() + "." + (cents < 10 ? "0" : "") + cents.toString();
}

/**
 * An orchestrator's call state as carried in `x-roam-state`: ";key=value" entries in one string, read and
 * updated in place (a lookup is a scan, not a parse of every entry), since it changes a little per RPC.
 */
export class State {
  constructor(public s: string = "") {}

  private find(key: string, from: i32 = 0): i32 {
    const k = ";" + key + "=";
    const at = this.s.indexOf(k, from);
    return at < 0 ? -1 : at + k.length;
  }

  private end(at: i32): i32 {
    const e = this.s.indexOf(";", at);
    return e < 0 ? this.s.length : e;
  }

  get(key: string): string {
    const at = this.find(key);
    return at < 0 ? "" : this.s.substring(at, this.end(at));
  }

  all(key: string): string[] {
    const out = new Array<string>();
    let at = this.find(key);
    while (at >= 0) {
      const e = this.end(at);
      out.push(this.s.substring(at, e));
      at = this.find(key, e);
    }
    return out;
  }

  set(key: string, value: string): void {
    const at = this.find(key);
    if (at < 0) this.add(key, value);
    else this.s = this.s.substring(0, at) + value + this.s.substring(this.end(at));
  }

  add(key: string, value: string): void {
    this.s += ";" + key + "=" + value;
  }
}
