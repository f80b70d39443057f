// roam's public API: the few concepts an embedder needs.
export { Engine, Deployment, type EngineOptions, type DeploymentStats } from './runtime/engine.ts';
export type { CallResult } from './runtime/guest-instance.ts';
export { RoamError, isRoamError } from './errors.ts';
export { readBundle, embedManifest, contentHash, type Bundle } from './bundle/bundle.ts';
export { validateManifest, type Manifest } from './bundle/manifest.ts';
export { verifyBundle, type EngineLimits } from './verify/verify.ts';
export { RegionStore } from './regions/region-store.ts';
export { buildProject } from './build/assemblyscript.ts';
export { encodeRequest, decodeResponse, type FnRequest, type FnResponse } from './runtime/http-abi.ts';
export { ComponentFunction, isComponent, verifyComponent, embedComponentManifest, type ComponentOptions, type ComponentStats } from './components/index.ts';
export { buildComponentProject, isComponentProject } from './build/componentize.ts';
