// Piscina worker entry for the cpu device. Plain JS so it loads without a TS loader; it registers
// tsx and then loads the TypeScript executor (the same kernel code the tests check).
import { register } from 'tsx/esm/api';
register();
const { runBatch } = await import('./executor.ts');
export default runBatch;
