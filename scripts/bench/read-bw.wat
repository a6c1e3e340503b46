;; Read-bandwidth probe for the benchmark's memory floor (bench only; compiled at run time by wabt).
;; Streams [p, p + n) with 16-byte loads, 4 independent accumulators, 64 bytes a step (n % 64 == 0),
;; and returns a value that depends on every byte so nothing is optimised away.
(module
  (import "env" "memory" (memory 1))
  (func (export "read") (param $p i32) (param $n i32) (result i32)
    (local $end i32) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $a (v128.xor (local.get $a) (v128.load offset=0 (local.get $p))))
        (local.set $b (v128.xor (local.get $b) (v128.load offset=16 (local.get $p))))
        (local.set $c (v128.xor (local.get $c) (v128.load offset=32 (local.get $p))))
        (local.set $d (v128.xor (local.get $d) (v128.load offset=48 (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $step)))
    (i32x4.extract_lane 0 (v128.xor (v128.xor (local.get $a) (local.get $b)) (v128.xor (local.get $c) (local.get $d))))))
