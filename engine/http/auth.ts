/** Bearer-token authentication of the control API and invocations (engine/tenancy/auth.ts decides). */
import type { IncomingMessage } from 'node:http';
import type { Authenticator, Principal } from '../tenancy/auth.ts';

export type { Principal } from '../tenancy/auth.ts';

export function authenticate(req: IncomingMessage, auth: Authenticator): Principal {
  const h = req.headers.authorization;
  return auth.principal(h?.startsWith('Bearer ') ? h.slice(7).trim() : null);
}
