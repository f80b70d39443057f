// The smallest TypeScript guest: a message handler and two functions chained by the manifest
// (`/chain/greet-loud` runs greet, then shout on greet's reply).
import { handler, fn, Response, log, text } from "roam/guest";

/** Message handler: "hello, <input>". */
export const hello = handler((input) => `hello, ${text(input)}`);

/** Function: greets the request body (or the path) as JSON. */
export const greet = fn((req) => {
  const who = req.body.length > 0 ? req.text() : req.path.replace(/^\//, "") || "world";
  log(`greet ${who}`);
  return Response.text(200, `hello, ${who}`);
});

/** Function: upper-cases its body (the second hop of the chain). */
export const shout = fn((req) => Response.text(200, req.text().toUpperCase() + "!"));
