/**
 * `roam mpirun --timeout` counts from the moment every rank has entered MPI_Init, so slow start-up
 * (Node, module compile, libmpi, guest work before MPI_Init) never counts. A rank says so once, on
 * entry: MPI_Init/MPI_Init_thread are wrapped rather than using the per-call hooks, which would
 * take the native MPI off its direct Send/Recv path.
 */

type Fn = (...a: any[]) => number;

/** Wraps the MPI_Init imports to call `f` once, when the guest first enters either. */
export function callOnInit(imports: Record<string, Fn>, f: () => void): void {
  let called = false;
  for (const name of ['MPI_Init', 'MPI_Init_thread']) {
    const init = imports[name];
    if (!init) continue;
    imports[name] = (a: number, b: number, c: number, d: number) => {
      if (!called) {
        called = true;
        f();
      }
      return init(a, b, c, d);
    };
  }
}

/** Env var naming the directory where each native rank creates a file named by its rank on entering MPI_Init. */
export const INIT_DIR_ENV = 'ROAM_MPI_INIT_DIR';
