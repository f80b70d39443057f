// The gpu service thread: owns the device and its scheduler. Plain JS entry that registers tsx.
import { register } from 'tsx/esm/api';
register();
await import('./service-thread.ts');
