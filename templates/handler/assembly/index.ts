import { input, replyString } from "roam";

/** Message handler: bytes in, bytes out. Returns the reply length (or fail(code, msg)). */
export function echo(len: i32): i32 {
  const text = String.UTF8.decode(input(len).buffer);
  return replyString("echo: " + text);
}
