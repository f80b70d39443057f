import { CALL_NAMES } from './call-names.ts';
import { checkImports } from './rank.ts';
import { loadWasi } from '../wasi/index.ts';

/** Checks a module's imports once, before any rank starts (each rank checks again at instantiation). */
export function checkImportsStatic(module: WebAssembly.Module): void {
  const mpi = Object.fromEntries([...CALL_NAMES, 'MPI_Wtime', 'MPI_Wtick'].map((n) => [n, true]));
  const WASI = loadWasi();
  const wasi = (new WASI({ version: 'preview1', returnOnExit: true }).getImportObject() as Record<string, Record<string, unknown>>).wasi_snapshot_preview1;
  checkImports(module, mpi, wasi);
}
