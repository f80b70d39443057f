/**
 * Run plans: what a function or chain invocation runs, by `fn:NAME` / `chain:ROUTE`, rebuilt when the
 * registry changes (workers cache them by id); per-bundle counters; warming every worker at deploy.
 */
import { chainFns } from '../chains/runner.ts';
import { isRemote } from '../chains/remote.ts';
import type { DeployedBundle, Registry } from '../server/registry.ts';
import type { Executor } from './executor.ts';
import type { PlanDef } from './task.ts';

export interface BundleCounters {
  calls: number;
  errors: number;
  fuel: number;
}

export interface CachedPlan {
  gen: number;
  def: PlanDef;
  /** Function names by hop-log index, and their bundle's counters. */
  fns: string[];
  stats: BundleCounters[];
  tenant: string;
  http: boolean;
}

export class Plans {
  /** Calls, errors and fuel per bundle name (`/v1/stats`). */
  readonly perBundle = new Map<string, BundleCounters>();
  private readonly plans = new Map<string, CachedPlan>();
  private ids = 0;

  constructor(
    private readonly registry: Registry,
    private readonly executor: Executor,
    private readonly maxHops: number,
  ) {}

  counters(bundle: string): BundleCounters {
    let s = this.perBundle.get(bundle);
    if (!s) this.perBundle.set(bundle, (s = { calls: 0, errors: 0, fuel: 0 }));
    return s;
  }

  planFor(kind: 'fn' | 'chain', name: string): CachedPlan {
    const registry = this.registry;
    const key = `${kind}:${name}`;
    const cached = this.plans.get(key);
    if (cached && cached.gen === registry.generation) return cached;
    let steps: string[];
    let targets: Record<string, string>;
    let tenant: string;
    let http = false;
    let remote: string[] = [];
    if (kind === 'fn') {
      const b = registry.bundleOf(name)!;
      steps = [name];
      targets = { [name]: b.ref.hash };
      tenant = b.manifest.tenant;
    } else {
      const spec = registry.chain(name)!;
      steps = spec.steps;
      targets = registry.resolveChain(name, spec);
      tenant = registry.chainTenant(spec);
      http = spec.hops === 'http';
      remote = [...new Set([...spec.steps, ...(spec.also ?? [])].filter(isRemote))];
    }
    const fns = chainFns(steps, [...Object.keys(targets), ...remote]);
    const stats = fns.map((f) => (isRemote(f) ? { calls: 0, errors: 0, fuel: 0 } : this.counters(registry.bundleOf(f)!.name)));
    const p: CachedPlan = { gen: registry.generation, def: { id: ++this.ids, route: kind === 'fn' ? null : name, steps, targets, remote, maxHops: this.maxHops }, fns, stats, tenant, http };
    this.plans.set(key, p);
    return p;
  }

  /** Gives every worker the plans of these bundles' functions and manifest chains, to instantiate now. */
  warm(bs: DeployedBundle[]): void {
    const defs: PlanDef[] = [];
    for (const b of bs) {
      if (b.component) continue;
      for (const f of b.manifest.functions) if (this.registry.bundleOf(f.name) === b) defs.push(this.planFor('fn', f.name).def);
      for (const route of Object.keys(b.manifest.chains ?? {})) {
        try {
          if (this.registry.chain(route)?.hops !== 'http') defs.push(this.planFor('chain', route).def);
        } catch {
          // a chain whose other steps are not deployed yet: planned at its first call
        }
      }
    }
    this.executor.warm(defs, (h) => this.registry.ref(h));
  }
}
