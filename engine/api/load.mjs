// Loads roam's TypeScript sources for a plain-JS importer of `roam`, `roam/client` or `roam/server`:
// one tsx loader scoped to roam's own modules (a namespace), shared by the three entries so they share
// module instances (one RoamError class). The importer's other imports do not go through it.
import { register } from 'tsx/esm/api';

const api = register({ namespace: 'roam-package' });
/** Imports a roam source file, relative to engine/api/. */
export const load = (rel) => api.import(new URL(rel, import.meta.url).href, import.meta.url);
