/** How engine error codes map to HTTP statuses at the gateway. */
import { isRoamError } from '../errors.ts';

const STATUS: Record<string, number> = {
  E_UNAUTHORIZED: 401,
  E_FORBIDDEN: 403,
  E_QUOTA: 403,
  E_NOT_FOUND: 404,
  E_NO_ENTRY: 404,
  E_METHOD: 405,
  E_CONFLICT: 409,
  E_TOO_LARGE: 413,
  E_OVERLOAD: 429,
  E_REMOTE: 502,
  E_REMOTE_DENIED: 403,
  E_CHAIN_LOOP: 508,
};

/** Codes that mean "the uploaded bundle or request is wrong" (400 with the verifier's reason). */
const BAD_INPUT = new Set(['E_MALFORMED', 'E_NO_MANIFEST', 'E_MANIFEST', 'E_IMPORT', 'E_EXPORT', 'E_LIMIT', 'E_MEMORY', 'E_START', 'E_CAPABILITY', 'E_NAME', 'E_CHAIN', 'E_ENV', 'E_BAD_REQUEST', 'E_UNSUPPORTED', 'E_BAD_PATH']);

export function httpStatus(code: string, appStatus: number | null = null): number {
  if (code === 'E_HANDLER' && appStatus !== null && appStatus >= 400 && appStatus <= 599) return appStatus;
  if (STATUS[code]) return STATUS[code];
  if (BAD_INPUT.has(code)) return 400;
  return 500;
}

export interface ErrorBody {
  error: string;
  message: string;
  function?: string;
}

export function errorBody(e: unknown): ErrorBody {
  if (isRoamError(e)) return { error: e.code, message: e.message };
  return { error: 'E_INTERNAL', message: e instanceof Error ? e.message : String(e) };
}
