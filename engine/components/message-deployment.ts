import { RoamError } from '../errors.ts';
import type { Manifest } from '../bundle/manifest.ts';
import type { Engine } from '../runtime/engine.ts';
import type { CallResult } from '../runtime/guest-instance.ts';
import { ComponentFunction, type ComponentOptions } from './component-function.ts';

/** A message-handler entry point of a component deployment: its name, message type and region mask. */
export interface ComponentEntry {
  name: string;
  type: number;
  /** allowed[i] = 1 when the handler declared the manifest's region i. */
  allowed: Uint8Array;
}

/**
 * A component exporting `roam:function/message-handler` (world `message` of guest-sdk/wit/roam.wit),
 * deployed to an `Engine` next to core bundles: `call(handler, payload)` like `Deployment.call`, but
 * asynchronous (the component runs in its own worker thread through jco). Its regions are the engine's
 * `RegionStore` buffers, so a core bundle of the same name and the component see the same bytes.
 */
export class ComponentDeployment {
  readonly manifest: Manifest;
  readonly hash: string;
  private readonly entries = new Map<string, ComponentEntry>();

  private constructor(readonly fn: ComponentFunction) {
    this.manifest = fn.component.manifest;
    this.hash = fn.component.hash;
    const index = new Map(this.manifest.regions.map((r, i) => [r.name, i]));
    for (const h of this.manifest.handlers) {
      const allowed = new Uint8Array(this.manifest.regions.length);
      for (const r of h.regions) allowed[index.get(r)!] = 1;
      this.entries.set(h.name, { name: h.name, type: h.type, allowed });
    }
  }

  /** Verifies, transpiles (cached) and starts the component with the engine's regions and fuel and memory caps. */
  static async deploy(engine: Engine, bytes: Uint8Array, opts: ComponentOptions = {}): Promise<ComponentDeployment> {
    const fn = await ComponentFunction.deploy(bytes, { maxFuel: engine.limits.maxFuel, maxMemoryPages: engine.limits.maxMemoryPages, ...opts, regions: engine.regions });
    if (fn.component.kind !== 'roam-message') {
      await fn.close();
      throw new RoamError('E_EXPORT', `component '${fn.name}' exports no roam:function/message-handler (it is a function: deploy it with ComponentFunction or the gateway)`);
    }
    return new ComponentDeployment(fn);
  }

  /** Handler names. */
  get names(): string[] {
    return [...this.entries.keys()];
  }

  entry(name: string): ComponentEntry {
    const e = this.entries.get(name);
    if (!e) throw new RoamError('E_NO_ENTRY', `component '${this.manifest.name}' has no handler '${name}' (has: ${this.names.join(', ')})`);
    return e;
  }

  /** Delivers `input` to handler `name`: the reply and the fuel it used (0 when the component runs under the watchdog alone). A failure fails only this call. */
  async call(name: string, input: Uint8Array): Promise<CallResult> {
    const e = this.entry(name);
    return this.fn.callMessage({ type: e.type, payload: input, allowed: e.allowed });
  }

  async invoke(name: string, input: Uint8Array): Promise<Uint8Array> {
    return (await this.call(name, input)).reply;
  }

  get stats() {
    return this.fn.stats;
  }

  /** New values for the manifest's declared environment variables (ComponentFunction.setEnv). */
  setEnv(env: Record<string, string>): void {
    this.fn.setEnv(env);
  }

  close(): Promise<void> {
    return this.fn.close();
  }
}
