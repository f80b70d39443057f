// `import … from 'roam'` from plain JS. Types: engine/index.ts (types/ in the package). The names are
// checked against engine/index.ts by test/package.test.ts.
import { load } from './load.mjs';

const m = await load('../index.ts');
export const {
  ComponentFunction, Deployment, Engine, RegionStore, RoamError, buildComponentProject, buildProject, contentHash,
  decodeResponse, embedComponentManifest, embedManifest, encodeRequest, isComponent, isComponentProject, isRoamError,
  readBundle, validateManifest, verifyBundle, verifyComponent,
} = m;
