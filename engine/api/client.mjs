// `import { connect } from 'roam/client'` from plain JS. Types: engine/client/index.ts.
import { load } from './load.mjs';

const m = await load('../client/index.ts');
export const { Client, connect } = m;
