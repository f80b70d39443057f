import type { Capability } from './capability.ts';

/** roam:clock — monotonic and wall-clock milliseconds as f64 (no BigInt crossing). */
export const clock: Capability = {
  name: 'clock',
  module: 'roam:clock',
  functions: { now_ms: '()->f64', epoch_ms: '()->f64' },
  imports: () => ({
    now_ms: () => performance.now(),
    epoch_ms: () => Date.now(),
  }),
};
