// The raw ABI a bundle exports (documented in guest-sdk/README.md). `roam build` adds this file as an entry.
import { inputBuffer, outputBuffer } from "./io";
import "./core";

export function roam_in(len: i32): usize {
  return inputBuffer(len);
}

export function roam_out(): usize {
  return outputBuffer();
}
