import { describe, expect, it } from 'vitest';
import { RemoteAllow } from '../engine/chains/remote-allow.ts';

const resolve = (allow: RemoteAllow, host: string) =>
  new Promise<string>((ok, fail) => allow.lookup(host, {}, (err, address) => (err ? fail(err) : ok(address as string))));

// Defect 12: remote chain steps accepted any URL, link-local and metadata addresses included.
describe('the remote allow-list for chain steps', () => {
  it('allows nothing by default, naming the step, the host and the flag', () => {
    expect(() => new RemoteAllow().check('http://169.254.169.254/latest')).toThrow(/remote step 'http:\/\/169\.254\.169\.254\/latest' refused: host 169\.254\.169\.254 .*--remote-allow/);
  });

  it('matches IP literals against CIDR ranges (v4 and v6) and names exactly', () => {
    const a = new RemoteAllow(['10.1.0.0/16', 'fd00::/8', 'api.example.com']);
    expect(() => a.check('http://10.1.2.3:8080/fn/x')).not.toThrow();
    expect(() => a.check('http://10.2.0.1/fn/x')).toThrow(/E_REMOTE_DENIED|refused/);
    expect(() => a.check('http://[fd12::1]/fn/x')).not.toThrow();
    expect(() => a.check('http://[::1]/fn/x')).toThrow(/refused/);
    expect(() => a.check('https://API.example.com/fn/x')).not.toThrow();
    expect(() => new RemoteAllow(['api.example.com']).check('https://evil.example.com/fn/x')).toThrow(/refused/);
  });

  it('refuses at connect a name that resolves outside the ranges (a name cannot be pointed at 127.0.0.1 or a metadata address)', async () => {
    await expect(resolve(new RemoteAllow(['10.0.0.0/8']), 'localhost')).rejects.toMatchObject({ code: 'E_REMOTE_DENIED' });
    await expect(resolve(new RemoteAllow(['127.0.0.0/8', '::1/128']), 'localhost')).resolves.toMatch(/^(127\.|::1)/);
  });

  it('refuses a malformed entry as a usage error', () => {
    expect(() => new RemoteAllow(['10.0.0.0/33'])).toThrow(/bad prefix/);
    expect(() => new RemoteAllow(['not a host'])).toThrow(/not a host name/);
  });
});
