@external("roam:clock", "now_ms")
declare function host_now_ms(): f64;
@external("roam:clock", "epoch_ms")
declare function host_epoch_ms(): f64;

/** Monotonic milliseconds (sub-millisecond resolution). */
export function nowMs(): f64 { return host_now_ms(); }
/** Wall-clock milliseconds since the Unix epoch. */
export function epochMs(): f64 { return host_epoch_ms(); }
