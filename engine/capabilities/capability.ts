import type { Registry as MetricsRegistry } from 'prom-client';
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
  /** The function or handler running now (set by the runtime before each call; logs carry it). */
  entry?: string;
  /** Per-instance state a capability may keep (keyed by capability name). */
  readonly state: Map<string, unknown>;
}

/**
 * A host capability, with one lifecycle for all (Spin's factors are the model); every stage but
 * `imports` is optional:
 *
 *   declare    the manifest names it (`capabilities: [name]`) and may carry its section (`sections.NAME`)
 *   section    parses and checks that section at admission (the core schema never reads it)
 *   validate   refuses at admission what this capability cannot serve, naming it
 *   imports    per instance: the import object (a guest may import only declared capabilities' modules)
 *   control    per deployment at run time: `PUT /v1/NAME/BUNDLE` with a JSON body (e.g. a new quota)
 *   stats      what `/v1/stats` shows under NAME (a tenant sees its own); `metrics` registers Prometheus series
 *   close      when the server stops
 *
 * The list is composed in one place (index.ts): a new capability is one folder or file plus one line there.
 */
export interface Capability {
  /** Name used in the manifest, e.g. `regions`. */
  readonly name: string;
  /** Wasm import module, e.g. `roam:regions`. */
  readonly module: string;
  /** Host functions this module offers, with their Wasm signatures, e.g. `read: '(i32,i32,i32,i32)->i32'`. */
  readonly functions: Readonly<Record<string, string>>;
  /** Parses this capability's manifest section (raw JSON) into its normalized form; throws RoamError E_MANIFEST naming the field. */
  section?(raw: unknown): unknown;
  /** Refuses a manifest this capability cannot serve (after its section parsed). */
  validate?(manifest: Manifest): void;
  /** Builds the import object for one instance. */
  imports(ctx: GuestContext): Record<string, (...args: any[]) => any>;
  /** Changes a deployed bundle's configuration at run time (the control API); resolves with what is now in force. */
  control?(manifest: Manifest, body: Uint8Array): Promise<unknown>;
  /** Statistics for `/v1/stats` (tenant null: the admin, all of them); null when there is nothing yet. */
  stats?(tenant: string | null): Promise<unknown>;
  /** Registers this capability's Prometheus series in a server's registry. */
  metrics?(registry: MetricsRegistry): void;
  close?(): Promise<void>;
}
