import { fileURLToPath } from 'node:url';

/** roam's WIT package (guest-sdk/wit/roam.wit); component functions target its world `function`. */
export const ROAM_WIT = fileURLToPath(new URL('../../guest-sdk/wit/roam.wit', import.meta.url));
export const ROAM_WIT_PACKAGE = 'roam:function@0.1.0';
/** WASI 0.2 WIT (version 0.2.10, what componentize-js 0.23's engine uses) with world `proxy`, for wasi:http functions. */
export const WASI_HTTP_WIT = fileURLToPath(new URL('../../guest-sdk/wit/wasi-http.wit', import.meta.url));
