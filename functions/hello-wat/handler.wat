;; A roam component function written by hand in WebAssembly text, assembled and wrapped into a
;; component by wasm-tools (through jco's API) with `roam build functions/hello-wat`.
;; It follows the canonical ABI of roam:function/handler.handle(request) -> response:
;; 8 flat i32 params (method, path, headers, body as pointer+length) and a pointer to the
;; 20-byte response record { status: u16 @0, headers: list @4, body: list @12 }.
(module
  (import "roam:function/log@0.1.0" "log" (func $log (param i32 i32)))
  (memory (export "memory") 1)
  ;; bump allocator for the request the host lowers into this memory; reset on every call
  (global $bump (mut i32) (i32.const 4096))
  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (global.set $bump (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (global.get $bump) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.const 1)))))
    (local.get $p))
  (data (i32.const 64) "hello, ")
  (data (i32.const 2048) "hello, world")
  (data (i32.const 2100) "hello-wat called")
  (func (export "roam:function/handler@0.1.0#handle")
    (param $m i32) (param $ml i32) (param $p i32) (param $pl i32)
    (param $h i32) (param $hl i32) (param $b i32) (param $bl i32) (result i32)
    (local $n i32)
    (call $log (i32.const 2100) (i32.const 16))
    ;; status 200, no headers, body at 64
    (i32.store16 (i32.const 16) (i32.const 200))
    (i32.store (i32.const 20) (i32.const 0))
    (i32.store (i32.const 24) (i32.const 0))
    (i32.store (i32.const 28) (i32.const 64))
    (if (i32.gt_u (local.get $pl) (i32.const 1))
      (then
        ;; body = "hello, " + the path without its leading slash (at most 1024 bytes of it)
        (local.set $n (i32.sub (local.get $pl) (i32.const 1)))
        (if (i32.gt_u (local.get $n) (i32.const 1024)) (then (local.set $n (i32.const 1024))))
        (memory.copy (i32.const 71) (i32.add (local.get $p) (i32.const 1)) (local.get $n))
        (i32.store (i32.const 32) (i32.add (i32.const 7) (local.get $n))))
      (else
        (memory.copy (i32.const 64) (i32.const 2048) (i32.const 12))
        (i32.store (i32.const 32) (i32.const 12))))
    (global.set $bump (i32.const 4096))
    (i32.const 16))
)
