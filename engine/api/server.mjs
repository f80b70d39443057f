// `import { serve } from 'roam/server'` from plain JS. Types: engine/api/server.ts.
import { load } from './load.mjs';

const m = await load('./server.ts');
export const { serve, wireServeOptions } = m;
