// UCX and roam statuses from the addon as RoamErrors with stable codes.
import { RoamError } from '../errors.ts';

/** roam's own statuses (native-host/src/ucx.cc); UCS's are -1 … -100. */
export const Status = { REVOKED: -1000, BOUNDS: -1001, ALIGN: -1002, NOKEY: -1003, DEAD: -1004, CLOSED: -1005, EXITED: -1006, BUSY: -1007, TIMEOUT: -1008 } as const;

const UCS_PEER_FAILURES = new Set([-3, -6, -20, -24, -25]);

/** The code a status maps to: what a program branches on. */
export function statusCode(status: number): string {
  switch (status) {
    case Status.REVOKED: return 'E_RDMA_REVOKED';
    case Status.BOUNDS: return 'E_RDMA_BOUNDS';
    case Status.ALIGN: return 'E_RDMA_ALIGN';
    case Status.NOKEY: return 'E_RDMA_KEY';
    case Status.CLOSED: return 'E_RDMA_CLOSED';
    case Status.BUSY: return 'E_RDMA_BUSY';
    case Status.TIMEOUT: return 'E_RDMA_TIMEOUT';
    case Status.DEAD:
    case Status.EXITED: return 'E_RDMA_PEER';
  }
  // Link (-40…-59) and endpoint (-60…-89) failures, resets, timeouts: the peer is gone.
  if (UCS_PEER_FAILURES.has(status) || (status <= -40 && status > -90)) return 'E_RDMA_PEER';
  return 'E_RDMA';
}

export function rdmaError(status: number, what: string, describe: (s: number) => string): RoamError {
  const code = statusCode(status);
  const why = describe(status);
  const hint = code === 'E_RDMA_PEER' ? ' (the peer process died or its network went away)' : '';
  return new RoamError(code, `${what}: ${why}${hint}`);
}
