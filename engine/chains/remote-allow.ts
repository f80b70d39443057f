import { BlockList, isIP, type LookupFunction } from 'node:net';
import { lookup as dnsLookup } from 'node:dns';
import { RoamError } from '../errors.ts';

/**
 * Which hosts a chain's remote steps may reach (`roam serve --remote-allow`). None by default: a step named
 * by URL could otherwise send a request from inside the server to any address it can reach, link-local
 * and cloud metadata addresses included (issue 19). Entries are host names (matched exactly, any case)
 * or IP addresses and CIDR ranges (v4 or v6). An IP literal in a step must fall in a range; a host name
 * is allowed when listed by name, or when every address it resolves to at connect time falls in a range
 * (checked in the connection's own DNS lookup, so a name cannot be re-pointed after the check).
 */
export class RemoteAllow {
  private readonly names = new Set<string>();
  private readonly ranges = new BlockList();
  private hasRanges = false;
  readonly entries: readonly string[];

  constructor(entries: readonly string[] = []) {
    this.entries = entries;
    for (const e of entries) this.add(e.trim());
  }

  private add(e: string): void {
    const slash = e.indexOf('/');
    const ip = slash < 0 ? e : e.slice(0, slash);
    const family = isIP(ip.replace(/^\[|\]$/g, ''));
    if (family === 0) {
      if (slash >= 0 || !/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/i.test(e)) throw new RoamError('E_USAGE', `--remote-allow: '${e}' is not a host name, an IP address or a CIDR range`);
      this.names.add(e.toLowerCase());
      return;
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    const bare = ip.replace(/^\[|\]$/g, '');
    const prefix = slash < 0 ? (family === 4 ? 32 : 128) : Number(e.slice(slash + 1));
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new RoamError('E_USAGE', `--remote-allow: '${e}' has a bad prefix length`);
    this.ranges.addSubnet(bare, prefix, type);
    this.hasRanges = true;
  }

  /** Whether an address falls in an allowed range. */
  allowsAddress(address: string): boolean {
    const family = isIP(address);
    return family !== 0 && this.ranges.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  /** Throws E_REMOTE_DENIED, naming the step and the host, unless the step's host may be reached. */
  check(step: string): void {
    let host: string;
    try {
      host = new URL(step).hostname.replace(/^\[|\]$/g, '').toLowerCase();
    } catch {
      throw new RoamError('E_CHAIN', `remote step '${step}' is not a valid URL`);
    }
    const allowed = isIP(host) ? this.allowsAddress(host) : this.names.has(host) || this.hasRanges;
    if (!allowed) throw this.refusal(step, host);
  }

  private refusal(step: string, host: string): RoamError {
    const list = this.entries.length ? `allowed: ${this.entries.join(', ')}` : 'none is allowed unless the operator lists it';
    return new RoamError('E_REMOTE_DENIED', `remote step '${step}' refused: host ${host} is not in the remote allow-list (roam serve --remote-allow; ${list})`);
  }

  /** For undici's `connect.lookup`: a name listed by name resolves as usual; otherwise every address must be in a range. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as unknown as Array<{ address: string; family: number }>;
      if (!this.names.has(hostname.toLowerCase())) {
        const bad = list.find((a) => !this.allowsAddress(a.address));
        if (bad) return callback(Object.assign(this.refusal(hostname, `${hostname} (${bad.address})`), { code: 'E_REMOTE_DENIED' }) as unknown as NodeJS.ErrnoException, '', 0);
      }
      if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
}
