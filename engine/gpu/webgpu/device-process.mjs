// Entry of the webgpu device process (device-process.ts): plain JS that registers tsx.
import { register } from 'tsx/esm/api';
register();
await import('./device-process.ts');
