import { RoamError } from '../errors.ts';
import { contentHash, manifestIn, MANIFEST_SECTION } from '../bundle/bundle.ts';
import type { Manifest } from '../bundle/manifest.ts';
import { parseComponent } from '../bundle/component-binary.ts';
import { checkComponentImports, componentKind, type ComponentKind } from './import-policy.ts';

export interface VerifiedComponent {
  bytes: Uint8Array;
  manifest: Manifest;
  hash: string;
  imports: string[];
  /** The export roam calls, e.g. `roam:function/handler@0.1.0` or `wasi:http/incoming-handler@0.2.10`. */
  exportName: string;
  /** How roam calls it: roam's own handler world, or wasi:http's incoming handler. */
  kind: ComponentKind;
}

/** Deploy-time checks, before any transpiling: well-formed top level, a valid manifest, allowed imports, a servable export. */
export function verifyComponent(bytes: Uint8Array): VerifiedComponent {
  const info = parseComponent(bytes);
  const manifest = manifestIn(info.customSections.get(MANIFEST_SECTION) ?? [], 'component', 'deploy it with roam deploy APP.wasm --name N, which writes one; build it with roam build; or attach one with embedComponentManifest');
  checkComponentImports(info.imports, manifest);
  const { kind, export: exportName } = componentKind(info.exports, manifest.name);
  if (kind === 'roam-message' && manifest.handlers.length === 0) throw new RoamError('E_MANIFEST', `component '${manifest.name}' exports a message handler but its manifest declares no handlers`);
  return { bytes, manifest, hash: contentHash(bytes), imports: info.imports, exportName, kind };
}
