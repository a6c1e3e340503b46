;; int8 retrieval scan: approximate scores with WASM SIMD128 integer dot products, a running
;; top-k threshold on guaranteed lower bounds, and a short list of candidate rows whose upper
;; bound can still reach the top k. The TypeScript wrapper (int8-scan.ts) rescores the
;; candidates exactly (float64, the same arithmetic as src/core/item-table.ts scoreRow) and
;; sorts them, so results equal scanTopK's bit for bit. Plain SIMD128 only (no relaxed SIMD).
;;
;; Why bounds: u (float32) is quantized to int16 by the caller, uq = round(u / us). For row r,
;;   exact(r) = scale[r] * sum_d q[r,d] * u[d] = us * scale[r] * (I[r] + E[r]),
;;   I[r] = sum_d q[r,d] * uq[d] (exact in int32),  |E[r]| = |sum_d q[r,d] * (u[d] / us - uq[d])|.
;; Everything here is in units of us (dividing by us > 0 keeps every comparison). The caller passes
;; C >= max |E[r]| + every float rounding (here and in the float64 rescoring), so
;;   lower(r) = scale[r] * (I[r] - C) <= exact(r) / us <= scale[r] * (I[r] + C) = upper(r).
;; Rows are visited in ascending order. Once the heap holds k lower bounds (all of rows before r,
;; each with exact >= thr), a row with upper(r) <= thr loses to all k of them (smaller score, or an
;; equal score and a higher row), so it is skipped; otherwise it becomes a candidate.
;;
;; Each chunk of 1024 rows goes in two passes: $bounds (the hot loop: dot products, upper bounds,
;; and a list of the rows that beat the threshold as it stood when the chunk began), then the
;; listed rows against the current threshold, with the heap. Keeping calls out of the hot loop
;; matters: around a call V8 spills every live SIMD register. A mask allowing under half of a
;; chunk switches that chunk to $boundsSparse, which computes only the allowed rows.
;;
;; Memory (imported, sized by the caller, never grown; all offsets 16-aligned):
;;   0..4    heap size (i32), written by $scan
;;   u       int16 query, ceil(dim / 16) * 16 lanes, zero padded (32-byte chunks)
;;   work    16 KiB: upper bounds [1024] f32, x = f32(I) [1024] f32, listed rows [1024] i32,
;;           gathered allowed rows [1024] i32
;;   table   row-major int8 [rows4, stride], rows4 = rows rounded up to 4, zero padded, + 16 bytes
;;   scales  float32 [rows4], zero padded
;;   mask    uint8 [rows4] (1 = allowed), zero padded, when $mask != 0
;;   excl    sorted distinct int32 rows to skip, when $nexcl != 0
;;   heap    float32 [k] min-heap of lower bounds
;;   cand    [cap] x (row i32, upper f32)
(module
  (import "env" "memory" (memory 1))

  ;; Upper bounds of rows [r, end) into ub (and x = f32(I) into ub + 4096), 4 rows at a time,
  ;; 16 dims a step: 16 int8 loaded at once, sign-extended to int16 in two halves, dot with int16
  ;; u (pmovsxbw + pmaddwd). u is zero padded past dim, so bytes read past a row's end (the next
  ;; row's, or the 16-byte tail pad) count zero.
  ;;
  ;; Loads are what cost under workerd: it compiles Wasm with an explicit bounds check (compare,
  ;; branch, the memory size reloaded) before every load, where Node relies on guard pages. So each
  ;; row is read 16 bytes a load, and for dim 49..64 (u is 4 chunks) all of u stays in locals,
  ;; loaded once per call, with the 4 steps unrolled: 16 loads per 4 rows instead of 40 (V8 may
  ;; keep some of u on the stack; a stack reload has no bounds check). In workerd
  ;; that scans 100k rows ~25% faster; in Node it is about the same (scripts/bench/isolate-loop.mjs
  ;; --modes scan --node; docs/BENCHMARKS.md). Rows whose upper bound beats thr (the threshold when the chunk began;
  ;; it only rises) and that the mask allows are listed at ub + 8192; returns how many.
  ;; No calls: V8 keeps the loop in registers.
  (func $bounds (param $p0 i32) (param $stride i32) (param $r i32) (param $end i32) (param $scales i32)
                (param $mask i32) (param $u i32) (param $uEnd i32) (param $c f32) (param $ub i32) (param $thr f32)
    (result i32)
    (local $xb i32) (local $list i32) (local $n i32) (local $bits i32) (local $thr4 v128)
    (local $p1 i32) (local $p2 i32) (local $p3 i32) (local $pu i32) (local $step i32)
    (local $mv v128) (local $x v128) (local $up v128) (local $c4 v128) (local $ninf4 v128) (local $ulo v128) (local $uhi v128)
    (local $acc0 v128) (local $acc1 v128) (local $acc2 v128) (local $acc3 v128) (local $q v128)
    (local $d64 i32) (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    (local $u4 v128) (local $u5 v128) (local $u6 v128) (local $u7 v128)
    (local.set $d64 (i32.eq (i32.sub (local.get $uEnd) (local.get $u)) (i32.const 128)))
    (if (local.get $d64)
      (then
        (local.set $u0 (v128.load (local.get $u)))
        (local.set $u1 (v128.load offset=16 (local.get $u)))
        (local.set $u2 (v128.load offset=32 (local.get $u)))
        (local.set $u3 (v128.load offset=48 (local.get $u)))
        (local.set $u4 (v128.load offset=64 (local.get $u)))
        (local.set $u5 (v128.load offset=80 (local.get $u)))
        (local.set $u6 (v128.load offset=96 (local.get $u)))
        (local.set $u7 (v128.load offset=112 (local.get $u)))))
    (local.set $xb (i32.add (local.get $ub) (i32.const 4096)))
    (local.set $list (i32.add (local.get $ub) (i32.const 8192)))
    (local.set $c4 (f32x4.splat (local.get $c)))
    (local.set $ninf4 (f32x4.splat (f32.const -inf)))
    (local.set $thr4 (f32x4.splat (local.get $thr)))
    (local.set $step (i32.shl (local.get $stride) (i32.const 2)))
    (block $done
      (loop $group
        (br_if $done (i32.ge_u (local.get $r) (local.get $end)))
        (block $compute
          ;; allowed mask: a group with no allowed row costs no dot products
          (if (local.get $mask)
            (then
              (local.set $mv (i8x16.eq (v128.load32_zero (i32.add (local.get $mask) (local.get $r)))
                                       (i8x16.splat (i32.const 1))))
              (br_if $compute (i32.eqz (v128.any_true (local.get $mv))))))
          (local.set $acc0 (v128.const i64x2 0 0))
          (local.set $acc1 (v128.const i64x2 0 0))
          (local.set $acc2 (v128.const i64x2 0 0))
          (local.set $acc3 (v128.const i64x2 0 0))
          (local.set $p1 (i32.add (local.get $p0) (local.get $stride)))
          (local.set $p2 (i32.add (local.get $p1) (local.get $stride)))
          (local.set $p3 (i32.add (local.get $p2) (local.get $stride)))
          (if (local.get $d64)
            (then
              ;; dim 49..64: all of u in locals, 4 loads a row
              (local.set $q (v128.load (local.get $p0)))
              (local.set $acc0 (i32x4.add (local.get $acc0)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u0))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u1)))))
              (local.set $q (v128.load (local.get $p1)))
              (local.set $acc1 (i32x4.add (local.get $acc1)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u0))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u1)))))
              (local.set $q (v128.load (local.get $p2)))
              (local.set $acc2 (i32x4.add (local.get $acc2)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u0))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u1)))))
              (local.set $q (v128.load (local.get $p3)))
              (local.set $acc3 (i32x4.add (local.get $acc3)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u0))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u1)))))
              (local.set $q (v128.load offset=16 (local.get $p0)))
              (local.set $acc0 (i32x4.add (local.get $acc0)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u2))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u3)))))
              (local.set $q (v128.load offset=16 (local.get $p1)))
              (local.set $acc1 (i32x4.add (local.get $acc1)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u2))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u3)))))
              (local.set $q (v128.load offset=16 (local.get $p2)))
              (local.set $acc2 (i32x4.add (local.get $acc2)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u2))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u3)))))
              (local.set $q (v128.load offset=16 (local.get $p3)))
              (local.set $acc3 (i32x4.add (local.get $acc3)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u2))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u3)))))
              (local.set $q (v128.load offset=32 (local.get $p0)))
              (local.set $acc0 (i32x4.add (local.get $acc0)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u4))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u5)))))
              (local.set $q (v128.load offset=32 (local.get $p1)))
              (local.set $acc1 (i32x4.add (local.get $acc1)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u4))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u5)))))
              (local.set $q (v128.load offset=32 (local.get $p2)))
              (local.set $acc2 (i32x4.add (local.get $acc2)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u4))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u5)))))
              (local.set $q (v128.load offset=32 (local.get $p3)))
              (local.set $acc3 (i32x4.add (local.get $acc3)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u4))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u5)))))
              (local.set $q (v128.load offset=48 (local.get $p0)))
              (local.set $acc0 (i32x4.add (local.get $acc0)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u6))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u7)))))
              (local.set $q (v128.load offset=48 (local.get $p1)))
              (local.set $acc1 (i32x4.add (local.get $acc1)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u6))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u7)))))
              (local.set $q (v128.load offset=48 (local.get $p2)))
              (local.set $acc2 (i32x4.add (local.get $acc2)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u6))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u7)))))
              (local.set $q (v128.load offset=48 (local.get $p3)))
              (local.set $acc3 (i32x4.add (local.get $acc3)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u6))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u7)))))
              )
            (else
              (local.set $pu (local.get $u))
              (loop $dims
                (local.set $ulo (v128.load (local.get $pu)))
                (local.set $uhi (v128.load offset=16 (local.get $pu)))
                (local.set $q (v128.load (local.get $p0)))
                (local.set $acc0 (i32x4.add (local.get $acc0)
                  (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $ulo))
                             (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $uhi)))))
                (local.set $q (v128.load (local.get $p1)))
                (local.set $acc1 (i32x4.add (local.get $acc1)
                  (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $ulo))
                             (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $uhi)))))
                (local.set $q (v128.load (local.get $p2)))
                (local.set $acc2 (i32x4.add (local.get $acc2)
                  (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $ulo))
                             (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $uhi)))))
                (local.set $q (v128.load (local.get $p3)))
                (local.set $acc3 (i32x4.add (local.get $acc3)
                  (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $ulo))
                             (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $uhi)))))
                (local.set $p0 (i32.add (local.get $p0) (i32.const 16)))
                (local.set $p1 (i32.add (local.get $p1) (i32.const 16)))
                (local.set $p2 (i32.add (local.get $p2) (i32.const 16)))
                (local.set $p3 (i32.add (local.get $p3) (i32.const 16)))
                (local.set $pu (i32.add (local.get $pu) (i32.const 32)))
                (br_if $dims (i32.lt_u (local.get $pu) (local.get $uEnd))))
              ;; back to this group's first row
              (local.set $p0 (i32.sub (local.get $p0) (i32.shr_u (i32.sub (local.get $uEnd) (local.get $u)) (i32.const 1))))))

          ;; horizontal sums (acc0, acc1, acc2, acc3) -> (I0, I1, I2, I3); x = f32(I)
          (local.set $acc0 (i32x4.add
            (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $acc0) (local.get $acc1))
            (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $acc0) (local.get $acc1))))
          (local.set $acc2 (i32x4.add
            (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $acc2) (local.get $acc3))
            (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $acc2) (local.get $acc3))))
          (local.set $x (f32x4.convert_i32x4_s (i32x4.add
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $acc0) (local.get $acc2))
            (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $acc0) (local.get $acc2)))))
          (v128.store (local.get $xb) (local.get $x))
          (local.set $up (f32x4.mul (f32x4.add (local.get $x) (local.get $c4))
                                    (v128.load (i32.add (local.get $scales) (i32.shl (local.get $r) (i32.const 2))))))
          (if (local.get $mask)
            (then (local.set $up (v128.bitselect (local.get $up) (local.get $ninf4)
                    (i32x4.extend_low_i16x8_s (i16x8.extend_low_i8x16_s (local.get $mv)))))))
          (v128.store (local.get $ub) (local.get $up))
          (local.set $bits (i32x4.bitmask (f32x4.gt (local.get $up) (local.get $thr4))))
          (block $listed
            (loop $lanes
              (br_if $listed (i32.eqz (local.get $bits)))
              (i32.store (i32.add (local.get $list) (i32.shl (local.get $n) (i32.const 2)))
                         (i32.add (local.get $r) (i32.ctz (local.get $bits))))
              (local.set $n (i32.add (local.get $n) (i32.const 1)))
              (local.set $bits (i32.and (local.get $bits) (i32.sub (local.get $bits) (i32.const 1))))
              (br $lanes))))
        (local.set $r (i32.add (local.get $r) (i32.const 4)))
        (local.set $ub (i32.add (local.get $ub) (i32.const 16)))
        (local.set $xb (i32.add (local.get $xb) (i32.const 16)))
        (local.set $p0 (i32.add (local.get $p0) (local.get $step)))
        (br $group)))
    (local.get $n))

  ;; Allowed rows (mask byte 1) in [r, end), 16 at a time (the mask is zero padded by 16 bytes).
  (func $countAllowed (param $mask i32) (param $r i32) (param $end i32) (result i32)
    (local $n i32)
    (block $done
      (loop $block
        (br_if $done (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $n (i32.add (local.get $n) (i32.popcnt (i8x16.bitmask
          (i8x16.eq (v128.load (i32.add (local.get $mask) (local.get $r))) (i8x16.splat (i32.const 1)))))))
        (local.set $r (i32.add (local.get $r) (i32.const 16)))
        (br $block)))
    (local.get $n))

  ;; $bounds for a sparse mask: only allowed rows, one at a time (a horizontal sum per row instead
  ;; of per 4 rows, but no work at all for the rows the mask drops). Same outputs as $bounds.
  ;; The allowed rows are gathered into a list first (at ub + 12288), so the dot-product loop has no
  ;; mask-dependent branches: a mispredict there would cancel the memory loads already in flight for
  ;; the next rows, and a table bigger than the caches is then read at latency, not bandwidth.
  (func $boundsSparse (param $table i32) (param $stride i32) (param $r0 i32) (param $end i32) (param $scales i32)
                      (param $mask i32) (param $u i32) (param $uEnd i32) (param $c f32) (param $ub i32) (param $thr f32)
    (result i32)
    (local $r i32) (local $bits i32) (local $row i32) (local $p i32) (local $pu i32) (local $at i32) (local $n i32)
    (local $gather i32) (local $g i32) (local $gEnd i32)
    (local $acc v128) (local $q v128) (local $x f32) (local $upf f32)
    (local $d64 i32) (local $u0 v128) (local $u1 v128) (local $u2 v128) (local $u3 v128)
    (local $u4 v128) (local $u5 v128) (local $u6 v128) (local $u7 v128)
    (local.set $d64 (i32.eq (i32.sub (local.get $uEnd) (local.get $u)) (i32.const 128)))
    (if (local.get $d64)
      (then
        (local.set $u0 (v128.load (local.get $u)))
        (local.set $u1 (v128.load offset=16 (local.get $u)))
        (local.set $u2 (v128.load offset=32 (local.get $u)))
        (local.set $u3 (v128.load offset=48 (local.get $u)))
        (local.set $u4 (v128.load offset=64 (local.get $u)))
        (local.set $u5 (v128.load offset=80 (local.get $u)))
        (local.set $u6 (v128.load offset=96 (local.get $u)))
        (local.set $u7 (v128.load offset=112 (local.get $u)))))
    (local.set $gather (i32.add (local.get $ub) (i32.const 12288)))
    (local.set $gEnd (local.get $gather))
    (local.set $r (local.get $r0))
    (block $gathered
      (loop $block
        (br_if $gathered (i32.ge_u (local.get $r) (local.get $end)))
        (local.set $bits (i8x16.bitmask
          (i8x16.eq (v128.load (i32.add (local.get $mask) (local.get $r))) (i8x16.splat (i32.const 1)))))
        (block $bitsDone
          (loop $bit
            (br_if $bitsDone (i32.eqz (local.get $bits)))
            (i32.store (local.get $gEnd) (i32.add (local.get $r) (i32.ctz (local.get $bits))))
            (local.set $gEnd (i32.add (local.get $gEnd) (i32.const 4)))
            (local.set $bits (i32.and (local.get $bits) (i32.sub (local.get $bits) (i32.const 1))))
            (br $bit)))
        (local.set $r (i32.add (local.get $r) (i32.const 16)))
        (br $block)))
    (local.set $g (local.get $gather))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $g) (local.get $gEnd)))
        (local.set $row (i32.load (local.get $g)))
        (local.set $g (i32.add (local.get $g) (i32.const 4)))
        (local.set $p (i32.add (local.get $table) (i32.mul (local.get $row) (local.get $stride))))
        (local.set $acc (v128.const i64x2 0 0))
        (if (local.get $d64)
          (then
            ;; dim 49..64: u in locals, as in $bounds
            (local.set $q (v128.load (local.get $p)))
            (local.set $acc (i32x4.add (local.get $acc)
              (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u0))
                         (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u1)))))
            (local.set $q (v128.load offset=16 (local.get $p)))
            (local.set $acc (i32x4.add (local.get $acc)
              (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u2))
                         (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u3)))))
            (local.set $q (v128.load offset=32 (local.get $p)))
            (local.set $acc (i32x4.add (local.get $acc)
              (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u4))
                         (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u5)))))
            (local.set $q (v128.load offset=48 (local.get $p)))
            (local.set $acc (i32x4.add (local.get $acc)
              (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (local.get $u6))
                         (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (local.get $u7))))))
          (else
            (local.set $pu (local.get $u))
            (loop $dims
              (local.set $q (v128.load (local.get $p)))
              (local.set $acc (i32x4.add (local.get $acc)
                (i32x4.add (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $q)) (v128.load (local.get $pu)))
                           (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $q)) (v128.load offset=16 (local.get $pu))))))
              (local.set $p (i32.add (local.get $p) (i32.const 16)))
              (local.set $pu (i32.add (local.get $pu) (i32.const 32)))
              (br_if $dims (i32.lt_u (local.get $pu) (local.get $uEnd))))))
        (local.set $acc (i32x4.add (local.get $acc)
          (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $acc) (local.get $acc))))
        (local.set $x (f32.convert_i32_s (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))))
        (local.set $at (i32.add (local.get $ub) (i32.shl (i32.sub (local.get $row) (local.get $r0)) (i32.const 2))))
        (local.set $upf (f32.mul (f32.add (local.get $x) (local.get $c))
          (f32.load (i32.add (local.get $scales) (i32.shl (local.get $row) (i32.const 2))))))
        (f32.store offset=4096 (local.get $at) (local.get $x))
        (f32.store (local.get $at) (local.get $upf))
        (if (f32.gt (local.get $upf) (local.get $thr))
          (then
            (i32.store (i32.add (i32.add (local.get $ub) (i32.const 8192)) (i32.shl (local.get $n) (i32.const 2)))
                       (local.get $row))
            (local.set $n (i32.add (local.get $n) (i32.const 1)))))
        (br $rows)))
    (local.get $n))

  ;; 1 when row is in the sorted int32 array excl[0..n), else 0.
  (func $isExcluded (param $excl i32) (param $n i32) (param $row i32) (result i32)
    (local $lo i32) (local $hi i32) (local $mid i32) (local $v i32)
    (local.set $hi (local.get $n))
    (block $done
      (loop $search
        (br_if $done (i32.ge_u (local.get $lo) (local.get $hi)))
        (local.set $mid (i32.shr_u (i32.add (local.get $lo) (local.get $hi)) (i32.const 1)))
        (local.set $v (i32.load (i32.add (local.get $excl) (i32.shl (local.get $mid) (i32.const 2)))))
        (if (i32.eq (local.get $v) (local.get $row)) (then (return (i32.const 1))))
        (if (i32.lt_s (local.get $v) (local.get $row))
          (then (local.set $lo (i32.add (local.get $mid) (i32.const 1))))
          (else (local.set $hi (local.get $mid))))
        (br $search)))
    (i32.const 0))

  ;; Adds a lower bound to the min-heap of the k largest; returns the new threshold
  ;; (the heap minimum once k are held, -inf before).
  (func $heapPush (param $heap i32) (param $k i32) (param $v f32) (result f32)
    (local $n i32) (local $i i32) (local $p i32) (local $c i32) (local $pv f32) (local $cv f32) (local $rv f32)
    (local.set $n (i32.load (i32.const 0)))
    (if (i32.lt_u (local.get $n) (local.get $k))
      (then
        ;; sift up from the end
        (local.set $i (local.get $n))
        (block $upDone
          (loop $up
            (br_if $upDone (i32.eqz (local.get $i)))
            (local.set $p (i32.shr_u (i32.sub (local.get $i) (i32.const 1)) (i32.const 1)))
            (local.set $pv (f32.load (i32.add (local.get $heap) (i32.shl (local.get $p) (i32.const 2)))))
            (br_if $upDone (f32.le (local.get $pv) (local.get $v)))
            (f32.store (i32.add (local.get $heap) (i32.shl (local.get $i) (i32.const 2))) (local.get $pv))
            (local.set $i (local.get $p))
            (br $up)))
        (f32.store (i32.add (local.get $heap) (i32.shl (local.get $i) (i32.const 2))) (local.get $v))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (i32.store (i32.const 0) (local.get $n))
        (if (i32.lt_u (local.get $n) (local.get $k)) (then (return (f32.const -inf))))
        (return (f32.load (local.get $heap)))))
    ;; full: replace the root when v beats it, then sift down
    (if (f32.le (local.get $v) (f32.load (local.get $heap)))
      (then (return (f32.load (local.get $heap)))))
    (block $downDone
      (loop $down
        (local.set $c (i32.add (i32.shl (local.get $i) (i32.const 1)) (i32.const 1)))
        (br_if $downDone (i32.ge_u (local.get $c) (local.get $n)))
        (local.set $cv (f32.load (i32.add (local.get $heap) (i32.shl (local.get $c) (i32.const 2)))))
        (if (i32.lt_u (i32.add (local.get $c) (i32.const 1)) (local.get $n))
          (then
            (local.set $rv (f32.load offset=4 (i32.add (local.get $heap) (i32.shl (local.get $c) (i32.const 2)))))
            (if (f32.lt (local.get $rv) (local.get $cv))
              (then
                (local.set $c (i32.add (local.get $c) (i32.const 1)))
                (local.set $cv (local.get $rv))))))
        (br_if $downDone (f32.ge (local.get $cv) (local.get $v)))
        (f32.store (i32.add (local.get $heap) (i32.shl (local.get $i) (i32.const 2))) (local.get $cv))
        (local.set $i (local.get $c))
        (br $down)))
    (f32.store (i32.add (local.get $heap) (i32.shl (local.get $i) (i32.const 2))) (local.get $v))
    (f32.load (local.get $heap)))

  ;; Drops candidates whose upper bound is below thr; returns how many remain.
  (func $compact (param $cand i32) (param $n i32) (param $thr f32) (result i32)
    (local $i i32) (local $o i32) (local $src i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $src (i32.add (local.get $cand) (i32.shl (local.get $i) (i32.const 3))))
        (if (f32.ge (f32.load offset=4 (local.get $src)) (local.get $thr))
          (then
            (i64.store (i32.add (local.get $cand) (i32.shl (local.get $o) (i32.const 3))) (i64.load (local.get $src)))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (local.get $o))

  ;; The scan. Returns the number of candidates written to cand, or -1 when more than 3/4 of cap
  ;; stay candidates after compaction (massive ties near the threshold; the caller falls back).
  ;; stride: bytes per row; uEnd: u + 32 * ceil(dim / 16); mask = 0: no mask; nexcl = 0: no list;
  ;; work: 16 KiB scratch.
  (func (export "scan")
    (param $table i32) (param $stride i32) (param $rows i32)
    (param $scales i32) (param $mask i32) (param $excl i32) (param $nexcl i32)
    (param $u i32) (param $uEnd i32) (param $work i32)
    (param $heap i32) (param $k i32) (param $cand i32) (param $cap i32) (param $c f32)
    (result i32)
    (local $r0 i32) (local $end i32) (local $rows4 i32) (local $i i32) (local $n i32)
    (local $row i32) (local $cnt i32) (local $slot i32) (local $at i32)
    (local $thr f32) (local $upf f32)

    (i32.store (i32.const 0) (i32.const 0))
    (local.set $thr (f32.const -inf))
    (local.set $rows4 (i32.and (i32.add (local.get $rows) (i32.const 3)) (i32.const -4)))
    (block $chunksDone
      (loop $chunk
        (br_if $chunksDone (i32.ge_u (local.get $r0) (local.get $rows4)))
        (local.set $end (i32.add (local.get $r0) (i32.const 1024)))
        (if (i32.gt_u (local.get $end) (local.get $rows4)) (then (local.set $end (local.get $rows4))))
        ;; a mask allowing under half of the chunk: visit only its rows
        (local.set $n
          (if (result i32) (i32.and (i32.ne (local.get $mask) (i32.const 0))
                       (i32.lt_u (i32.shl (call $countAllowed (local.get $mask) (local.get $r0) (local.get $end)) (i32.const 1))
                                 (i32.sub (local.get $end) (local.get $r0))))
            (then (call $boundsSparse (local.get $table) (local.get $stride) (local.get $r0) (local.get $end) (local.get $scales)
                    (local.get $mask) (local.get $u) (local.get $uEnd) (local.get $c) (local.get $work) (local.get $thr)))
            (else (call $bounds (i32.add (local.get $table) (i32.mul (local.get $r0) (local.get $stride)))
                    (local.get $stride) (local.get $r0) (local.get $end) (local.get $scales) (local.get $mask)
                    (local.get $u) (local.get $uEnd) (local.get $c) (local.get $work) (local.get $thr)))))

        ;; the listed rows, in order, against the current threshold
        (local.set $i (i32.const 0))
        (block $listDone
          (loop $listed
            (br_if $listDone (i32.ge_u (local.get $i) (local.get $n)))
            (local.set $row (i32.load (i32.add (i32.add (local.get $work) (i32.const 8192)) (i32.shl (local.get $i) (i32.const 2)))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (local.set $at (i32.add (local.get $work) (i32.shl (i32.sub (local.get $row) (local.get $r0)) (i32.const 2))))
            (local.set $upf (f32.load (local.get $at)))
            (if (i32.and (i32.lt_u (local.get $row) (local.get $rows)) (f32.gt (local.get $upf) (local.get $thr)))
              (then
                (if (i32.or (i32.eqz (local.get $nexcl))
                            (i32.eqz (call $isExcluded (local.get $excl) (local.get $nexcl) (local.get $row))))
                  (then
                    (local.set $slot (i32.add (local.get $cand) (i32.shl (local.get $cnt) (i32.const 3))))
                    (i32.store (local.get $slot) (local.get $row))
                    (f32.store offset=4 (local.get $slot) (local.get $upf))
                    (local.set $cnt (i32.add (local.get $cnt) (i32.const 1)))
                    ;; lower bound (x - C) * scale, the same float32 steps as the upper bound
                    (local.set $thr (call $heapPush (local.get $heap) (local.get $k)
                      (f32.mul (f32.sub (f32.load offset=4096 (local.get $at)) (local.get $c))
                               (f32.load (i32.add (local.get $scales) (i32.shl (local.get $row) (i32.const 2)))))))
                    (if (i32.ge_u (local.get $cnt) (local.get $cap))
                      (then
                        (local.set $cnt (call $compact (local.get $cand) (local.get $cnt) (local.get $thr)))
                        (if (i32.gt_u (i32.shl (local.get $cnt) (i32.const 2)) (i32.mul (local.get $cap) (i32.const 3)))
                          (then (return (i32.const -1))))))))))
            (br $listed)))
        (local.set $r0 (local.get $end))
        (br $chunk)))
    (local.get $cnt))
)
