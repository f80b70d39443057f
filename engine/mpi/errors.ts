/** A fatal MPI error (MPI_ERRORS_ARE_FATAL is the only handler): names the rank and the call. */
export class MpiError extends Error {
  constructor(readonly rank: number, readonly call: string, readonly errorClass: number, detail: string) {
    super(`rank ${rank}: ${call}: ${detail}`);
    this.name = 'MpiError';
  }
}
