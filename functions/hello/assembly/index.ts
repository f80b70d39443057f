import { input, replyString, request, respond, Response, log } from "roam";

/** Handler: replies "hello, <input>". */
export function hello(len: i32): i32 {
  const name = String.UTF8.decode(input(len).buffer);
  return replyString("hello, " + (name.length > 0 ? name : "world"));
}

/** Function: GET /fn/greet/<who> → JSON greeting. */
export function greet(len: i32): i32 {
  const req = request(len);
  const who = req.path.length > 1 ? req.path.substring(1) : "world";
  log("greet " + who);
  return respond(Response.json(200, '{"greeting":"hello, ' + who + '","method":"' + req.method + '"}'));
}
