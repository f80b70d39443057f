/** Tokens → principals, the same for both front doors (HTTP bearer tokens, the wire's AUTH frame). */
import { timingSafeEqual } from 'node:crypto';
import { RoamError } from '../errors.ts';
import type { TenantTable } from './tenants.ts';

/** Who is calling: the admin (tenant null) or a tenant. */
export interface Principal {
  tenant: string | null;
}

export const ADMIN: Principal = Object.freeze({ tenant: null });

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * Checks tokens against the admin token and the tenants' own tokens. `adminToken` null means the server
 * was started with `--no-auth`: a caller without a token is the admin, one with a tenant's token is that
 * tenant.
 */
export class Authenticator {
  constructor(
    readonly adminToken: string | null,
    private readonly tenants: TenantTable,
  ) {}

  /** True when a caller must present a token (the server has an admin token). */
  get required(): boolean {
    return this.adminToken !== null;
  }

  principal(token: string | null): Principal {
    if (this.adminToken === null && token === null) return ADMIN;
    if (token === null) throw new RoamError('E_UNAUTHORIZED', 'missing token (HTTP: Authorization: Bearer <token>; wire: connect with { token })');
    if (this.adminToken !== null && same(token, this.adminToken)) return ADMIN;
    const t = this.tenants.all.find((c) => c.token !== undefined && same(token, c.token));
    if (t) return { tenant: t.name };
    throw new RoamError('E_UNAUTHORIZED', 'invalid token');
  }
}
