// Types for a roam function (world roam:function/function, see roam's guest-sdk/wit/roam.wit): what
// roam's glue hands to `fetch` and what it accepts back. Type-only: nothing here is bundled.

/** The request: method, path (after /fn/NAME), lower-cased headers, the body. */
export interface RoamRequest {
  readonly method: string;
  /** The path after /fn/NAME, starting with '/'. */
  readonly path: string;
  /** Same as path. */
  readonly url: string;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Uint8Array;
  /** The body as UTF-8 text. */
  text(): string;
  /** The body parsed as JSON. */
  json<T = unknown>(): T;
}

/** A JSON-serialisable value (sent with content-type application/json unless you set one). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * The response: a full object, a string (200 text/plain) or undefined (204). Return it synchronously:
 * async handlers need JSPI, which Node 20 lacks (`roam build` refuses them).
 */
export type RoamResponse =
  | string
  | undefined
  | {
      status?: number;
      headers?: Record<string, string> | Array<[string, string]>;
      body?: string | Uint8Array | ArrayBuffer | Json;
    };

/** `export default { fetch(request) { … } }` (or a default-exported function). console.* goes to roam's log. */
export interface RoamFunction {
  fetch(request: RoamRequest): RoamResponse;
}

declare global {
  /** console.* inside a roam function goes to roam's log (roam dev prints it). */
  var console: { log(...args: unknown[]): void; info(...args: unknown[]): void; warn(...args: unknown[]): void; error(...args: unknown[]): void; debug(...args: unknown[]): void };
}
