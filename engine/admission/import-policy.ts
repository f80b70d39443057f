import { RoamError } from '../errors.ts';
import type { Manifest } from '../bundle/manifest.ts';

/**
 * Which component imports a manifest allows. Like core bundles, a capability is an import:
 * roam's own interfaces map to manifest capabilities, WASI sockets/outgoing HTTP need an explicit
 * `wasi:*` capability, and only the harmless WASI basics (streams, clocks, random, stdio, environment,
 * exit, and the filesystem without directories) are implicit. Anything else is refused at deploy, naming the import.
 */
const IMPLICIT = new Set([
  'roam:function/types',
  'wasi:io/error', 'wasi:io/poll', 'wasi:io/streams',
  'wasi:clocks/monotonic-clock', 'wasi:clocks/wall-clock',
  'wasi:random/random', 'wasi:random/insecure', 'wasi:random/insecure-seed',
  'wasi:cli/stdout', 'wasi:cli/stderr', 'wasi:cli/stdin', 'wasi:cli/environment', 'wasi:cli/exit',
  'wasi:cli/terminal-input', 'wasi:cli/terminal-output', 'wasi:cli/terminal-stdin', 'wasi:cli/terminal-stdout', 'wasi:cli/terminal-stderr',
  // wasi:http/types carries the request/response resources of an incoming handler; calling out needs outgoing-handler.
  'wasi:http/types',
]);

/**
 * wasi:filesystem is granted to every component, with no directories: the worker preopens none
 * (engine/components/component-worker.mjs `confined`), so a guest can open no file. Every other
 * toolchain's output imports it even for hello world (the WASI preview 1 adapter of Rust, TinyGo,
 * .NET, C), and refusing it refused them all. Declaring capability `wasi:filesystem` is still accepted.
 */
const NO_DIRECTORIES = /^wasi:filesystem\/(types|preopens)$/;

/** Interface (or `package/*`) → the manifest capability that allows it. */
const DECLARED: Array<[RegExp, string]> = [
  [/^roam:function\/log$/, 'log'],
  [/^roam:function\/regions$/, 'regions'],
  [/^wasi:filesystem\//, 'wasi:filesystem'],
  [/^wasi:sockets\//, 'wasi:sockets'],
  [/^wasi:http\/outgoing-handler$/, 'wasi:http'],
];

/** `wasi:cli/stdout@0.2.3` → `wasi:cli/stdout`. */
export const unversioned = (name: string): string => name.replace(/@[^/]*$/, '');

/** Throws E_CAPABILITY for the first import the manifest does not allow. */
export function checkComponentImports(imports: string[], manifest: Manifest): void {
  const declared = new Set(manifest.capabilities);
  for (const full of imports) {
    const name = unversioned(full);
    if (IMPLICIT.has(name) || NO_DIRECTORIES.test(name)) continue;
    const rule = DECLARED.find(([re]) => re.test(name));
    if (!rule) throw new RoamError('E_CAPABILITY', `component '${manifest.name}' imports '${full}', which roam does not provide`);
    if (!declared.has(rule[1])) throw new RoamError('E_CAPABILITY', `component '${manifest.name}' imports '${full}' but its manifest does not declare capability '${rule[1]}'`);
  }
}

/** The kinds of component function roam can serve, by the interface it exports. */
export type ComponentKind = 'roam-handler' | 'roam-message' | 'wasi-http';
export const ROAM_HANDLER = 'roam:function/handler';
/** World `message`: `handle-message(message-type, payload) -> reply`, called per message like a core bundle's handler. */
export const ROAM_MESSAGE_HANDLER = 'roam:function/message-handler';
export const WASI_HTTP_HANDLER = 'wasi:http/incoming-handler';

export function componentKind(exports: string[], name: string): { kind: ComponentKind; export: string } {
  const roam = exports.find((e) => unversioned(e) === ROAM_HANDLER);
  if (roam) return { kind: 'roam-handler', export: roam };
  const message = exports.find((e) => unversioned(e) === ROAM_MESSAGE_HANDLER);
  if (message) return { kind: 'roam-message', export: message };
  const http = exports.find((e) => unversioned(e) === WASI_HTTP_HANDLER);
  if (http) return { kind: 'wasi-http', export: http };
  throw new RoamError('E_EXPORT', `component '${name}' exports none of '${ROAM_HANDLER}', '${ROAM_MESSAGE_HANDLER}', '${WASI_HTTP_HANDLER}' (exports: ${exports.join(', ') || 'none'})`);
}
