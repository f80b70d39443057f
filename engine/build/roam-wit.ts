import { fileURLToPath } from 'node:url';

/** roam's WIT package (guest-sdk/wit/roam.wit); component functions target its world `function`. */
export const ROAM_WIT = fileURLToPath(new URL('../../guest-sdk/wit/roam.wit', import.meta.url));
export const ROAM_WIT_PACKAGE = 'roam:function@0.1.0';
