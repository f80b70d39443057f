import type { Manifest } from '../bundle/manifest.ts';
import type { BoundRegion } from '../regions/region-store.ts';

/**
 * What a capability's host functions can reach of the guest they serve.
 * `memory` is set right after instantiation; host functions only run after that.
 */
export interface GuestContext {
  readonly manifest: Manifest;
  /** The guest's linear memory (exported as `memory`). */
  memory: WebAssembly.Memory;
  /** Bytes of guest memory [ptr, ptr+len), bounds-checked; throws RoamError E_GUEST_BOUNDS. */
  bytes(ptr: number, len: number): Uint8Array;
  /** All of linear memory as bytes (a cached view, refreshed after growth): for hot host functions that check bounds themselves. */
  view(): Uint8Array;
  /** The bundle's regions, in manifest order (index = region id in the ABI). */
  readonly regions: ReadonlyArray<BoundRegion>;
  /** allowed[i] = 1 when the running handler declared region i; set by the runtime before each call. */
  allowed: Uint8Array;
  /** Per-instance state a capability may keep (keyed by capability name). */
  readonly state: Map<string, unknown>;
}

/**
 * A host capability: declared in the manifest (`capabilities: [name]`), checked at deploy
 * (a guest may import only from the modules of declared capabilities), linked per instance.
 */
export interface Capability {
  /** Name used in the manifest, e.g. `regions`. */
  readonly name: string;
  /** Wasm import module, e.g. `roam:regions`. */
  readonly module: string;
  /** Host functions this module offers, with their Wasm signatures, e.g. `read: '(i32,i32,i32,i32)->i32'`. */
  readonly functions: Readonly<Record<string, string>>;
  /** Builds the import object for one instance. */
  imports(ctx: GuestContext): Record<string, (...args: any[]) => any>;
}
