import { request, respond, Response, log } from "roam";

/** Function: GET /fn/{{name}}/<who> → {"greeting":"hello, <who>"}. */
export function greet(len: i32): i32 {
  const req = request(len);
  const who = req.path.length > 1 ? req.path.substring(1) : "world";
  log(req.method + " " + req.path);
  return respond(Response.json(200, '{"greeting":"hello, ' + who + '"}'));
}
