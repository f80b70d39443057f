// roam:core — implicit for every bundle. AssemblyScript's `abort` is routed here by `roam build`.
@external("roam:core", "abort")
declare function host_abort(msg: usize, file: usize, line: u32, col: u32): void;

/** Replaces AssemblyScript's env.abort: the host turns it into a clear trap with message and location. */
export function roam_abort(msg: string | null, file: string | null, line: u32, col: u32): void {
  host_abort(changetype<usize>(msg), changetype<usize>(file), line, col);
  unreachable();
}
