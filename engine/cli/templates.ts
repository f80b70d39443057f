import { fileURLToPath } from 'node:url';

/**
 * A project template: a folder under templates/ copied by `roam init` ({{name}} replaced, _gitignore →
 * .gitignore, roam.json's name set to the project's).
 */
export interface Template {
  name: string;
  summary: string;
  /** The scaffolded project's `npm run build`. */
  build: string;
}

/** Every template, in the order `roam init --list` shows them. One line per template folder. */
export const TEMPLATES: Template[] = [
  { name: 'function', summary: 'AssemblyScript function: HTTP-like request in, response out (the default)', build: 'roam build .' },
  { name: 'handler', summary: 'AssemblyScript message handler: bytes in, bytes out (binary protocol)', build: 'roam build .' },
  { name: 'ts-function', summary: 'TypeScript functions on the shared QuickJS engine (roam/guest; a few KB, builds in < 1 s)', build: 'roam build .' },
  { name: 'ts-handler', summary: 'TypeScript message handlers on the shared QuickJS engine, with a region', build: 'roam build .' },
  { name: 'ts-component', summary: 'TypeScript function componentized with componentize-js (world roam:function; minutes to build)', build: 'roam build .' },
  { name: 'component', summary: 'wasi:http/proxy component in JavaScript (any wasi:http host can serve it)', build: 'roam build .' },
  { name: 'mpi-c', summary: 'MPI program in C for roam cc + roam mpirun (needs clang for wasm32-wasi)', build: 'mkdir -p build && roam cc ring.c -o build/{{name}}.wasm' },
];

export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url));
