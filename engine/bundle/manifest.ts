import { RoamError } from '../errors.ts';

/** Access a handler or the bundle has to a region. */
export type RegionAccess = 'r' | 'w' | 'rw';

export interface RegionDecl {
  name: string;
  /** Size in bytes. */
  size: number;
  access: RegionAccess;
}

export interface HandlerDecl {
  /** Name used by callers (`--handler get`). */
  name: string;
  /** Message type id carried on the wire (0..65535), unique in the bundle. */
  type: number;
  /** Exported Wasm function `(inLen: i32) -> i32`; defaults to `name`. */
  export: string;
  /** Regions this handler touches (names from `regions`); defaults to all. */
  regions: string[];
}

export interface FunctionDecl {
  /** Route name (`/fn/<name>`). */
  name: string;
  /** Exported Wasm function `(inLen: i32) -> i32` taking an encoded request; defaults to `name`. */
  export: string;
}

export interface Limits {
  /** Linear memory cap in 64 KiB pages. */
  memoryPages: number;
  /** Fuel per message (function entries + loop iterations, weighted by block size). */
  fuel: number;
}


export interface Manifest {
  name: string;
  version: string;
  handlers: HandlerDecl[];
  functions: FunctionDecl[];
  regions: RegionDecl[];
  /** Capability names (`log`, `clock`, `regions`, …); `core` is implicit. */
  capabilities: string[];
  limits: Limits;
  /** Tenant that owns the bundle (serverless); defaults to `default`. */
  tenant: string;
  /** Capability sections: `{ capability name: its configuration }`, each parsed and checked by its own
   *  capability at admission (engine/verify parseSections), never by this schema. A section declares its
   *  capability. In roam.json a section may also stand at the top level (`"gpu": { … }`). */
  sections?: Record<string, unknown>;
  /** Chain routes the bundle declares (served while it is deployed): route → steps (engine/chains). */
  chains?: Record<string, ManifestChain>;
}

export interface ManifestChain {
  steps: string[];
  also?: string[];
  hops?: 'shm' | 'http';
}

export const DEFAULT_LIMITS: Limits = { memoryPages: 16, fuel: 10_000_000 };

const NAME_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
const EXPORT_RE = /^[A-Za-z_$][A-Za-z0-9_$.:-]{0,127}$/;

function bad(msg: string): never {
  throw new RoamError('E_MANIFEST', `invalid manifest: ${msg}`);
}
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const posInt = (v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0 || v > max) bad(`${what} must be an integer in 1..${max}`);
  return v;
};
const str = (v: unknown, what: string, re = NAME_RE): string => {
  if (typeof v !== 'string' || !re.test(v)) bad(`${what} must be a string matching ${re}`);
  return v;
};

/** Checks a parsed manifest (from roam.json or a bundle) and fills defaults. Throws E_MANIFEST naming the field. */
export function validateManifest(raw: unknown): Manifest {
  if (!isObj(raw)) bad('must be a JSON object');
  const name = str(raw.name, 'name');
  const version = typeof raw.version === 'string' && raw.version.length > 0 && raw.version.length < 64 ? raw.version : bad('version must be a non-empty string');

  const regionsRaw = raw.regions ?? [];
  if (!Array.isArray(regionsRaw)) bad('regions must be an array');
  const regions: RegionDecl[] = regionsRaw.map((r, i) => {
    if (!isObj(r)) bad(`regions[${i}] must be an object`);
    const access = r.access ?? 'rw';
    if (access !== 'r' && access !== 'w' && access !== 'rw') bad(`regions[${i}].access must be r, w or rw`);
    return { name: str(r.name, `regions[${i}].name`), size: posInt(r.size, `regions[${i}].size`, 2 ** 32), access };
  });
  const regionNames = new Set<string>();
  for (const r of regions) {
    if (regionNames.has(r.name)) bad(`region '${r.name}' declared twice`);
    regionNames.add(r.name);
  }

  const handlersRaw = raw.handlers ?? [];
  if (!Array.isArray(handlersRaw)) bad('handlers must be an array');
  const types = new Set<number>();
  const handlers: HandlerDecl[] = handlersRaw.map((h, i) => {
    if (!isObj(h)) bad(`handlers[${i}] must be an object`);
    const hname = str(h.name, `handlers[${i}].name`);
    const type = h.type ?? i + 1;
    if (typeof type !== 'number' || !Number.isInteger(type) || type < 0 || type > 0xffff) bad(`handlers[${i}].type must be an integer in 0..65535`);
    if (types.has(type)) bad(`handler type ${type} used twice`);
    types.add(type);
    const hregions = h.regions ?? regions.map((r) => r.name);
    if (!Array.isArray(hregions)) bad(`handlers[${i}].regions must be an array`);
    for (const rn of hregions) if (typeof rn !== 'string' || !regionNames.has(rn)) bad(`handlers[${i}] names undeclared region '${String(rn)}'`);
    return { name: hname, type, export: str(h.export ?? hname, `handlers[${i}].export`, EXPORT_RE), regions: hregions as string[] };
  });

  const functionsRaw = raw.functions ?? [];
  if (!Array.isArray(functionsRaw)) bad('functions must be an array');
  const functions: FunctionDecl[] = functionsRaw.map((f, i) => {
    if (!isObj(f)) bad(`functions[${i}] must be an object`);
    const fname = str(f.name, `functions[${i}].name`);
    return { name: fname, export: str(f.export ?? fname, `functions[${i}].export`, EXPORT_RE) };
  });
  const callable = new Set<string>();
  for (const n of [...handlers.map((h) => h.name), ...functions.map((f) => f.name)]) {
    if (callable.has(n)) bad(`'${n}' declared twice among handlers and functions`);
    callable.add(n);
  }
  if (callable.size === 0) bad('declares no handler and no function');

  const capsRaw = raw.capabilities ?? [];
  if (!Array.isArray(capsRaw) || capsRaw.some((c) => typeof c !== 'string')) bad('capabilities must be an array of names');
  const capabilities = [...new Set(capsRaw as string[])];
  if (regions.length > 0 && !capabilities.includes('regions')) capabilities.push('regions');

  const limitsRaw = raw.limits ?? {};
  if (!isObj(limitsRaw)) bad('limits must be an object');
  const limits: Limits = {
    memoryPages: limitsRaw.memoryPages === undefined ? DEFAULT_LIMITS.memoryPages : posInt(limitsRaw.memoryPages, 'limits.memoryPages', 65536),
    fuel: limitsRaw.fuel === undefined ? DEFAULT_LIMITS.fuel : posInt(limitsRaw.fuel, 'limits.fuel', 2 ** 31 - 1),
  };

  const tenant = raw.tenant === undefined ? 'default' : str(raw.tenant, 'tenant');
  const sections = sectionsOf(raw);
  for (const k of Object.keys(sections)) if (!capabilities.includes(k)) capabilities.push(k);
  const chains = raw.chains === undefined ? undefined : validateChains(raw.chains);
  return { name, version, handlers, functions, regions, capabilities, limits, tenant, ...(Object.keys(sections).length ? { sections } : {}), ...(chains ? { chains } : {}) };
}

/** The schema's own keys; any other key whose value is an object is a capability section. */
const CORE_KEYS = new Set(['name', 'version', 'handlers', 'functions', 'regions', 'capabilities', 'limits', 'tenant', 'chains', 'sections']);

/** `sections` as written, plus top-level objects under other keys (how roam.json writes them), raw. */
function sectionsOf(raw: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (raw.sections !== undefined) {
    if (!isObj(raw.sections)) bad('sections must be an object: capability name → its configuration');
    Object.assign(out, raw.sections);
  }
  for (const [k, v] of Object.entries(raw)) if (!CORE_KEYS.has(k) && isObj(v)) out[k] = v;
  for (const k of Object.keys(out)) str(k, `sections key '${k}'`);
  return out;
}

/** `chains`: { route: { steps: [name or remote URL…], also?: […], hops?: "shm" | "http" } }. */
function validateChains(raw: unknown): Record<string, ManifestChain> {
  if (!isObj(raw)) bad('chains must be an object: route → { "steps": [...] }');
  const names = (v: unknown, what: string, nonEmpty: boolean): string[] => {
    if (!Array.isArray(v) || (nonEmpty && v.length === 0) || v.some((x) => typeof x !== 'string' || x.length === 0 || x.length > 512)) bad(`${what} must be ${nonEmpty ? 'a non-empty' : 'an'} array of function names or URLs`);
    return v as string[];
  };
  const out: Record<string, ManifestChain> = {};
  for (const [route, c] of Object.entries(raw)) {
    str(route, `chains route '${route}'`);
    if (!isObj(c)) bad(`chains.${route} must be an object`);
    if (c.hops !== undefined && c.hops !== 'shm' && c.hops !== 'http') bad(`chains.${route}.hops must be "shm" or "http"`);
    out[route] = { steps: names(c.steps, `chains.${route}.steps`, true), ...(c.also !== undefined ? { also: names(c.also, `chains.${route}.also`, false) } : {}), ...(c.hops ? { hops: c.hops as 'shm' | 'http' } : {}) };
  }
  return out;
}
