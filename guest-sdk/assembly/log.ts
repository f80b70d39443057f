@external("roam:log", "log")
declare function host_log(level: i32, ptr: usize, len: i32): void;

export const enum Level { Debug = 0, Info = 1, Warn = 2, Error = 3 }

export function log(message: string, level: Level = Level.Info): void {
  const utf8 = String.UTF8.encode(message);
  host_log(level, changetype<usize>(utf8), utf8.byteLength);
}
