// Functions: an HTTP-like request in, a response out (POST /fn/hello/<who>). The chain in roam.json,
// /chain/hello-loud, runs hello then shout on hello's reply.
import { fn, Response, log, nowMs } from "roam/guest";

export const hello = fn((req) => {
  const t0 = nowMs();
  const who = req.path.replace(/^\//, "") || (req.bodyLength > 0 ? req.text() : "world");
  log(`${req.method} ${req.path} in ${(nowMs() - t0).toFixed(3)} ms`);
  return Response.json(200, { greeting: `hello, ${who}` });
});

export const shout = fn((req) => Response.text(200, req.text().toUpperCase()));
