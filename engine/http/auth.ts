/** Bearer-token authentication of the control API: the admin token, or a tenant's own token. */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { RoamError } from '../errors.ts';
import type { TenantTable } from '../tenancy/tenants.ts';

/** Who is calling: the admin (tenant null) or a tenant. */
export interface Principal {
  tenant: string | null;
}

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** `adminToken` null means the control API is open (only for `roam serve --no-auth`). */
export function authenticate(req: IncomingMessage, adminToken: string | null, tenants: TenantTable): Principal {
  const h = req.headers.authorization;
  const token = h?.startsWith('Bearer ') ? h.slice(7).trim() : null;
  if (adminToken === null && token === null) return { tenant: null };
  if (token === null) throw new RoamError('E_UNAUTHORIZED', 'missing bearer token (Authorization: Bearer <token>)');
  if (adminToken !== null && same(token, adminToken)) return { tenant: null };
  const t = tenants.byToken(token);
  if (t) return { tenant: t.name };
  throw new RoamError('E_UNAUTHORIZED', 'invalid bearer token');
}
