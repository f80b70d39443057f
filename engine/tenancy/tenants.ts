/** Tenants: who owns bundles, their share of the machine and their caps. Read from `--tenants FILE`. */
import { readFileSync } from 'node:fs';
import { RoamError } from '../errors.ts';

export interface TenantConfig {
  name: string;
  /** Relative share of execution under contention (default 1). */
  weight: number;
  /** Bearer token that may manage this tenant's bundles (optional; the admin token may manage all). */
  token?: string;
  /** Most runs of this tenant executing at once (default: unlimited). */
  maxConcurrency: number;
  /** Most runs waiting; beyond that requests get 429 (default 1024). */
  maxQueue: number;
  /** Most linear memory its deployed bundles may reserve across all workers, MiB (default: unlimited). */
  maxMemoryMiB: number;
}

export class TenantTable {
  private readonly byName = new Map<string, TenantConfig>();

  constructor(configs: Array<Partial<TenantConfig> & { name: string }> = []) {
    for (const c of configs) this.byName.set(c.name, TenantTable.withDefaults(c));
  }

  static withDefaults(c: Partial<TenantConfig> & { name: string }): TenantConfig {
    const num = (v: unknown, what: string, dflt: number) => {
      if (v === undefined) return dflt;
      if (typeof v !== 'number' || !(v > 0)) throw new RoamError('E_TENANTS', `tenant '${c.name}': ${what} must be a positive number`);
      return v;
    };
    return {
      name: c.name,
      weight: num(c.weight, 'weight', 1),
      ...(c.token ? { token: c.token } : {}),
      maxConcurrency: num(c.maxConcurrency, 'maxConcurrency', Infinity),
      maxQueue: num(c.maxQueue, 'maxQueue', 1024),
      maxMemoryMiB: num(c.maxMemoryMiB, 'maxMemoryMiB', Infinity),
    };
  }

  /** `{ "tenants": { "shop": { "weight": 6, "token": "…" }, … } }` */
  static fromFile(file: string): TenantTable {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new RoamError('E_TENANTS', `cannot read tenants file ${file}: ${(e as Error).message}`);
    }
    const t = (raw as { tenants?: Record<string, object> }).tenants;
    if (typeof t !== 'object' || t === null) throw new RoamError('E_TENANTS', `${file}: expected { "tenants": { name: {...} } }`);
    return new TenantTable(Object.entries(t).map(([name, c]) => ({ ...(c as Partial<TenantConfig>), name })));
  }

  /** A tenant's settings; tenants not configured get the defaults (weight 1, no caps). */
  get(name: string): TenantConfig {
    let c = this.byName.get(name);
    if (!c) {
      c = TenantTable.withDefaults({ name });
      this.byName.set(name, c);
    }
    return c;
  }

  /** The tenant a token belongs to, if any. */
  byToken(token: string): TenantConfig | undefined {
    for (const c of this.byName.values()) if (c.token !== undefined && c.token === token) return c;
    return undefined;
  }

  get all(): TenantConfig[] {
    return [...this.byName.values()];
  }
}
