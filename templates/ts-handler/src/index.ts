// Message handlers: bytes in, bytes out, synchronous and bounded (fuel, memory). State that outlives a
// message lives in regions, declared in roam.json and shared by every instance at every place.
import { handler, fail, log, fetchAddU32, text } from "roam/guest";

/** Replies with the message itself, prefixed. */
export const echo = handler((input) => `echo: ${text(input)}`);

/** Counts messages per slot (the first input byte, 0..1023) in the `counters` region; replies with the count. */
export const count = handler((input) => {
  if (input.length < 1) fail(400, "send one byte: the counter slot");
  const slot = input[0]! * 4;
  const n = fetchAddU32(0, slot, 1) + 1;
  if (n % 1000 === 0) log(`counter ${input[0]} reached ${n}`);
  return String(n);
});
