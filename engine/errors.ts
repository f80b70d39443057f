/** A failure the user should see as one clear line. `code` is stable for programs; `message` is for people. */
export class RoamError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RoamError';
    this.code = code;
  }
}

export const isRoamError = (e: unknown): e is RoamError => e instanceof RoamError;
