// roam/server: run a roam server inside your own program (what `roam serve` does).
export { serve, type ServeOptions } from '../http/serve.ts';
export { startWire, type WireServeOptions } from '../places/serve-options.ts';
