// The baseline of bench:http: a bare node:http server answering what roam's hello `greet` answers.
import { createServer } from 'node:http';

const server = createServer((req, res) => {
  const name = decodeURIComponent((req.url ?? '/').split('/').pop() || 'world');
  const body = JSON.stringify({ greeting: `hello, ${name}`, method: req.method });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => process.stdout.write(`serving on http://127.0.0.1:${/** @type {import('node:net').AddressInfo} */ (server.address()).port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
