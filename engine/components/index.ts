// Components (WASI 0.2 / component model) run through jco: the public face of this folder.
export { ComponentFunction, type ComponentOptions, type ComponentStats } from './component-function.ts';
export { verifyComponent, type VerifiedComponent } from '../admission/verify-component.ts';
export { isComponent, parseComponent, embedComponentManifest, type ComponentInfo } from '../bundle/component-binary.ts';
export { checkComponentImports } from '../admission/import-policy.ts';
export type { TimeLimit } from './meter-component.ts';
export { ComponentDeployment, type ComponentEntry } from './message-deployment.ts';
export type { MessageCall } from './component-function.ts';
