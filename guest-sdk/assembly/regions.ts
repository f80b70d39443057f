// roam:regions — RDMA-like access to named regions owned by the server. A region is named by its
// index in the manifest's `regions` list. Out-of-bounds, undeclared or disallowed accesses trap
// with a clear error; the message fails and nothing is written.
@external("roam:regions", "read")
declare function host_read(region: i32, offset: u32, dst: usize, len: u32): void;
@external("roam:regions", "write")
declare function host_write(region: i32, offset: u32, src: usize, len: u32): void;
@external("roam:regions", "load_u32")
declare function host_load_u32(region: i32, offset: u32): u32;
@external("roam:regions", "store_u32")
declare function host_store_u32(region: i32, offset: u32, value: u32): void;
@external("roam:regions", "cas_u32")
declare function host_cas_u32(region: i32, offset: u32, expected: u32, desired: u32): u32;
@external("roam:regions", "fetch_add_u32")
declare function host_fetch_add_u32(region: i32, offset: u32, delta: u32): u32;
@external("roam:regions", "cas_u64")
declare function host_cas_u64(region: i32, offset: u32, expected: u64, desired: u64): u64;
@external("roam:regions", "fetch_add_u64")
declare function host_fetch_add_u64(region: i32, offset: u32, delta: u64): u64;

/** Copies `len` bytes at `offset` of the region into guest memory at `dst` (a one-sided read). */
export function regionRead(region: i32, offset: u32, dst: usize, len: u32): void { host_read(region, offset, dst, len); }
/** Copies `len` bytes from guest memory at `src` into the region at `offset`. */
export function regionWrite(region: i32, offset: u32, src: usize, len: u32): void { host_write(region, offset, src, len); }
/** Atomic loads/stores and read-modify-writes; offsets must be aligned to the width. Return the old value. */
export function loadU32(region: i32, offset: u32): u32 { return host_load_u32(region, offset); }
export function storeU32(region: i32, offset: u32, value: u32): void { host_store_u32(region, offset, value); }
export function casU32(region: i32, offset: u32, expected: u32, desired: u32): u32 { return host_cas_u32(region, offset, expected, desired); }
export function fetchAddU32(region: i32, offset: u32, delta: u32): u32 { return host_fetch_add_u32(region, offset, delta); }
export function casU64(region: i32, offset: u32, expected: u64, desired: u64): u64 { return host_cas_u64(region, offset, expected, desired); }
export function fetchAddU64(region: i32, offset: u32, delta: u64): u64 { return host_fetch_add_u64(region, offset, delta); }
