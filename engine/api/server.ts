// roam/server: run a roam server inside your own program (what `roam serve` does).
export { serve, type ServeOptions } from '../server/serve.ts';
export { wireServeOptions, type WireServeOptions } from '../server/wire-options.ts';
