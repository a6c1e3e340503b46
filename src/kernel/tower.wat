;; The user tower's dense layers: y = x @ W + b in float32 with WASM SIMD128 (plain SIMD, no relaxed
;; SIMD, no FMA: each step is a rounded multiply then a rounded add, like a scalar loop). Everything
;; else in the tower (layer norm, attention over a few dozen slots, softmax) is small and runs in
;; tower.ts; this is where the multiply-adds are, and GELU, whose erf needs an exp per element.
;;
;; Memory (imported, sized and laid out by tower.ts, all offsets 16-aligned):
;;   x  float32 [n, k]   row-major activations
;;   w  float32 [k, m]   row-major weights, input-major (x @ W), dequantized from int8 at load
;;   b  float32 [m]      bias
;;   y  float32 [n, m]   output (must not overlap x)
;; m must be a multiple of 4; tower.ts computes other widths in JavaScript.
;;
;; Attention (per head, queries i in [0, rows) at absolute slots first + i, keys j <= first + i):
;;   dots: s[i, j] = q_i . k_j          (dh floats each, rows of the qkv buffer: stride floats apart)
;;   mix:  o_i = sum_j p[i, j] * v_j    (p = the softmax of s * scale, computed in tower.ts)
;; dh must be a multiple of 4.
(module
  (import "env" "memory" (memory 1))

  ;; y[i, :] = b + sum_kk x[i, kk] * W[kk, :], two rows at a time (each W row loaded once for both),
  ;; 16 columns a step (8 accumulators), then 4 columns a step for the rest of m.
  (func (export "linear") (param $x i32) (param $w i32) (param $b i32) (param $y i32) (param $n i32) (param $k i32) (param $m i32)
    (local $i i32) (local $j i32) (local $kk i32) (local $wp i32) (local $xp i32) (local $xq i32) (local $yr i32)
    (local $rowx i32) (local $rowy i32) (local $two i32) (local $m16 i32)
    (local $s v128) (local $t v128) (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local.set $rowx (i32.shl (local.get $k) (i32.const 2)))
    (local.set $rowy (i32.shl (local.get $m) (i32.const 2)))
    (local.set $m16 (i32.and (local.get $m) (i32.const -16)))
    (local.set $i (i32.const 0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $n)))
        ;; $two: is there a second row (i + 1 < n)? Without one, the second accumulators are discarded.
        (local.set $two (i32.lt_u (i32.add (local.get $i) (i32.const 1)) (local.get $n)))
        (local.set $xp (i32.add (local.get $x) (i32.mul (local.get $i) (local.get $rowx))))
        (local.set $xq (select (i32.add (local.get $xp) (local.get $rowx)) (local.get $xp) (local.get $two)))
        (local.set $yr (i32.add (local.get $y) (i32.mul (local.get $i) (local.get $rowy))))
        ;; 16 columns a step
        (local.set $j (i32.const 0))
        (block $wide_done
          (loop $wide
            (br_if $wide_done (i32.ge_u (local.get $j) (local.get $m16)))
            (local.set $a0 (v128.load (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $a1 (v128.load offset=16 (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $a2 (v128.load offset=32 (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $a3 (v128.load offset=48 (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $c0 (local.get $a0))
            (local.set $c1 (local.get $a1))
            (local.set $c2 (local.get $a2))
            (local.set $c3 (local.get $a3))
            (local.set $wp (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $kk (i32.const 0))
            (block $k_done
              (loop $kloop
                (br_if $k_done (i32.ge_u (local.get $kk) (local.get $k)))
                (local.set $s (v128.load32_splat (i32.add (local.get $xp) (i32.shl (local.get $kk) (i32.const 2)))))
                (local.set $t (v128.load32_splat (i32.add (local.get $xq) (i32.shl (local.get $kk) (i32.const 2)))))
                (local.set $w0 (v128.load (local.get $wp)))
                (local.set $w1 (v128.load offset=16 (local.get $wp)))
                (local.set $w2 (v128.load offset=32 (local.get $wp)))
                (local.set $w3 (v128.load offset=48 (local.get $wp)))
                (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $s) (local.get $w0))))
                (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $s) (local.get $w1))))
                (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $s) (local.get $w2))))
                (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $s) (local.get $w3))))
                (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $t) (local.get $w0))))
                (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $t) (local.get $w1))))
                (local.set $c2 (f32x4.add (local.get $c2) (f32x4.mul (local.get $t) (local.get $w2))))
                (local.set $c3 (f32x4.add (local.get $c3) (f32x4.mul (local.get $t) (local.get $w3))))
                (local.set $wp (i32.add (local.get $wp) (local.get $rowy)))
                (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
                (br $kloop)))
            (v128.store (i32.add (local.get $yr) (i32.shl (local.get $j) (i32.const 2))) (local.get $a0))
            (v128.store offset=16 (i32.add (local.get $yr) (i32.shl (local.get $j) (i32.const 2))) (local.get $a1))
            (v128.store offset=32 (i32.add (local.get $yr) (i32.shl (local.get $j) (i32.const 2))) (local.get $a2))
            (v128.store offset=48 (i32.add (local.get $yr) (i32.shl (local.get $j) (i32.const 2))) (local.get $a3))
            (if (local.get $two)
              (then
                (v128.store (i32.add (i32.add (local.get $yr) (local.get $rowy)) (i32.shl (local.get $j) (i32.const 2))) (local.get $c0))
                (v128.store offset=16 (i32.add (i32.add (local.get $yr) (local.get $rowy)) (i32.shl (local.get $j) (i32.const 2))) (local.get $c1))
                (v128.store offset=32 (i32.add (i32.add (local.get $yr) (local.get $rowy)) (i32.shl (local.get $j) (i32.const 2))) (local.get $c2))
                (v128.store offset=48 (i32.add (i32.add (local.get $yr) (local.get $rowy)) (i32.shl (local.get $j) (i32.const 2))) (local.get $c3))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $wide)))
        ;; 4 columns a step for m % 16
        (block $narrow_done
          (loop $narrow
            (br_if $narrow_done (i32.ge_u (local.get $j) (local.get $m)))
            (local.set $a0 (v128.load (i32.add (local.get $b) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $c0 (local.get $a0))
            (local.set $wp (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 2))))
            (local.set $kk (i32.const 0))
            (block $k4_done
              (loop $k4
                (br_if $k4_done (i32.ge_u (local.get $kk) (local.get $k)))
                (local.set $w0 (v128.load (local.get $wp)))
                (local.set $a0 (f32x4.add (local.get $a0)
                  (f32x4.mul (v128.load32_splat (i32.add (local.get $xp) (i32.shl (local.get $kk) (i32.const 2)))) (local.get $w0))))
                (local.set $c0 (f32x4.add (local.get $c0)
                  (f32x4.mul (v128.load32_splat (i32.add (local.get $xq) (i32.shl (local.get $kk) (i32.const 2)))) (local.get $w0))))
                (local.set $wp (i32.add (local.get $wp) (local.get $rowy)))
                (local.set $kk (i32.add (local.get $kk) (i32.const 1)))
                (br $k4)))
            (v128.store (i32.add (local.get $yr) (i32.shl (local.get $j) (i32.const 2))) (local.get $a0))
            (if (local.get $two)
              (then (v128.store (i32.add (i32.add (local.get $yr) (local.get $rowy)) (i32.shl (local.get $j) (i32.const 2))) (local.get $c0))))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $narrow)))
        (local.set $i (i32.add (local.get $i) (i32.const 2)))
        (br $rows))))

  ;; s[i * sStride + j] = sum_e q[i * stride + e] * k[j * stride + e], j <= first + i (byte pointers,
  ;; strides in floats).
  (func (export "dots") (param $q i32) (param $k i32) (param $stride i32) (param $rows i32) (param $first i32)
                        (param $dh i32) (param $s i32) (param $sStride i32)
    (local $i i32) (local $j i32) (local $e i32) (local $qp i32) (local $kp i32) (local $sp i32) (local $acc v128) (local $row i32)
    (local.set $row (i32.shl (local.get $stride) (i32.const 2)))
    (local.set $i (i32.const 0))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $qp (i32.add (local.get $q) (i32.mul (i32.add (local.get $first) (local.get $i)) (local.get $row))))
        (local.set $sp (i32.add (local.get $s) (i32.shl (i32.mul (local.get $i) (local.get $sStride)) (i32.const 2))))
        (local.set $j (i32.const 0))
        (local.set $kp (local.get $k))
        (block $keys_done
          (loop $keys
            (br_if $keys_done (i32.gt_u (local.get $j) (i32.add (local.get $first) (local.get $i))))
            (local.set $acc (v128.const i32x4 0 0 0 0))
            (local.set $e (i32.const 0))
            (block $e_done
              (loop $e_loop
                (br_if $e_done (i32.ge_u (local.get $e) (local.get $dh)))
                (local.set $acc (f32x4.add (local.get $acc)
                  (f32x4.mul (v128.load (i32.add (local.get $qp) (i32.shl (local.get $e) (i32.const 2))))
                             (v128.load (i32.add (local.get $kp) (i32.shl (local.get $e) (i32.const 2)))))))
                (local.set $e (i32.add (local.get $e) (i32.const 4)))
                (br $e_loop)))
            (f32.store (i32.add (local.get $sp) (i32.shl (local.get $j) (i32.const 2)))
              (f32.add (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                       (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
            (local.set $kp (i32.add (local.get $kp) (local.get $row)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $keys)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows_loop))))

  ;; o[i * oStride + e] = sum_{j <= first + i} p[i * pStride + j] * v[j * stride + e], e < dh.
  (func (export "mix") (param $p i32) (param $pStride i32) (param $v i32) (param $stride i32) (param $rows i32)
                       (param $first i32) (param $dh i32) (param $o i32) (param $oStride i32)
    (local $i i32) (local $j i32) (local $e i32) (local $pp i32) (local $vp i32) (local $op i32) (local $w v128) (local $row i32)
    (local.set $row (i32.shl (local.get $stride) (i32.const 2)))
    (local.set $i (i32.const 0))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $pp (i32.add (local.get $p) (i32.shl (i32.mul (local.get $i) (local.get $pStride)) (i32.const 2))))
        (local.set $op (i32.add (local.get $o) (i32.shl (i32.mul (local.get $i) (local.get $oStride)) (i32.const 2))))
        (local.set $e (i32.const 0))
        (block $zero_done
          (loop $zero
            (br_if $zero_done (i32.ge_u (local.get $e) (local.get $dh)))
            (v128.store (i32.add (local.get $op) (i32.shl (local.get $e) (i32.const 2))) (v128.const i32x4 0 0 0 0))
            (local.set $e (i32.add (local.get $e) (i32.const 4)))
            (br $zero)))
        (local.set $j (i32.const 0))
        (local.set $vp (local.get $v))
        (block $keys_done
          (loop $keys
            (br_if $keys_done (i32.gt_u (local.get $j) (i32.add (local.get $first) (local.get $i))))
            (local.set $w (v128.load32_splat (i32.add (local.get $pp) (i32.shl (local.get $j) (i32.const 2)))))
            (local.set $e (i32.const 0))
            (block $e_done
              (loop $e_loop
                (br_if $e_done (i32.ge_u (local.get $e) (local.get $dh)))
                (v128.store (i32.add (local.get $op) (i32.shl (local.get $e) (i32.const 2)))
                  (f32x4.add (v128.load (i32.add (local.get $op) (i32.shl (local.get $e) (i32.const 2))))
                             (f32x4.mul (local.get $w) (v128.load (i32.add (local.get $vp) (i32.shl (local.get $e) (i32.const 2)))))))
                (local.set $e (i32.add (local.get $e) (i32.const 4)))
                (br $e_loop)))
            (local.set $vp (i32.add (local.get $vp) (local.get $row)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $keys)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $rows_loop))))

  ;; e^x for four float32 lanes (Cephes' expf): x = n ln2 + r with |r| <= ln2 / 2 (ln2 split in two
  ;; for an exact n ln2), e^r by a degree-5 minimax polynomial, 2^n put into the exponent bits.
  ;; Relative error ~1e-7; x is clamped to [-87, 88], where 2^n stays a normal float.
  (func $exp4 (param $x v128) (result v128)
    (local $n v128) (local $r v128)
    (local.set $x (f32x4.max (f32x4.min (local.get $x) (v128.const f32x4 88 88 88 88)) (v128.const f32x4 -87 -87 -87 -87)))
    (local.set $n (f32x4.nearest (f32x4.mul (local.get $x) (v128.const f32x4 1.44269504088896341 1.44269504088896341 1.44269504088896341 1.44269504088896341))))
    (local.set $r (f32x4.sub (f32x4.sub (local.get $x) (f32x4.mul (local.get $n) (v128.const f32x4 0.693359375 0.693359375 0.693359375 0.693359375))) (f32x4.mul (local.get $n) (v128.const f32x4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4 -2.12194440e-4))))
    (f32x4.mul
      (f32x4.add (f32x4.add (f32x4.mul (f32x4.mul (f32x4.add (v128.const f32x4 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1 5.0000001201e-1) (f32x4.mul (local.get $r) (f32x4.add (v128.const f32x4 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1 1.6666665459e-1) (f32x4.mul (local.get $r) (f32x4.add (v128.const f32x4 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2 4.1665795894e-2) (f32x4.mul (local.get $r) (f32x4.add (v128.const f32x4 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3 8.3334519073e-3) (f32x4.mul (local.get $r) (f32x4.add (v128.const f32x4 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3 1.3981999507e-3) (f32x4.mul (local.get $r) (v128.const f32x4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4 1.9875691500e-4))))))))))) (local.get $r)) (local.get $r)) (local.get $r)) (v128.const f32x4 1 1 1 1))
      (i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $n)) (v128.const i32x4 127 127 127 127)) (i32.const 23))))

  ;; GELU (erf form) in place on `count` floats at byte offset $p (count a multiple of 4):
  ;; 0.5 x (1 + erf(x / sqrt 2)), erf by Numerical Recipes' erfc approximation, as `erf` in dense.ts:
  ;; with a = |x| / sqrt 2, t = 1 / (1 + a / 2), r = t e^(-a^2 - 1.26551223 + t P(t)) = erfc(a), so
  ;; GELU = 0.5 x (2 - r) for x >= 0 and 0.5 x r for x < 0.
  (func (export "gelu") (param $p i32) (param $count i32)
    (local $end i32) (local $x v128) (local $a v128) (local $t v128) (local $r v128)
    (local.set $end (i32.add (local.get $p) (i32.shl (local.get $count) (i32.const 2))))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $x (v128.load (local.get $p)))
        (local.set $a (f32x4.mul (f32x4.abs (local.get $x)) (v128.const f32x4 0.70710678118654752 0.70710678118654752 0.70710678118654752 0.70710678118654752)))
        (local.set $t (f32x4.div (v128.const f32x4 1 1 1 1) (f32x4.add (v128.const f32x4 1 1 1 1) (f32x4.mul (v128.const f32x4 0.5 0.5 0.5 0.5) (local.get $a)))))
        (local.set $r (f32x4.mul (local.get $t) (call $exp4
          (f32x4.add (f32x4.sub (f32x4.neg (f32x4.mul (local.get $a) (local.get $a))) (v128.const f32x4 1.26551223 1.26551223 1.26551223 1.26551223))
            (f32x4.mul (local.get $t) (f32x4.add (v128.const f32x4 1.00002368 1.00002368 1.00002368 1.00002368) (f32x4.mul (local.get $t) (f32x4.add (v128.const f32x4 0.37409196 0.37409196 0.37409196 0.37409196) (f32x4.mul (local.get $t) (f32x4.add (v128.const f32x4 0.09678418 0.09678418 0.09678418 0.09678418) (f32x4.mul (local.get $t) (f32x4.add (v128.const f32x4 -0.18628806 -0.18628806 -0.18628806 -0.18628806) (f32x4.mul (local.get $t) (f32x4.add (v128.const f32x4 0.27886807 0.27886807 0.27886807 0.27886807) (f32x4.mul (local.get $t) (f32x4.add (v128.const f32x4 -1.13520398 -1.13520398 -1.13520398 -1.13520398) (f32x4.mul (local.get $t) (f32x4.add (v128.const f32x4 1.48851587 1.48851587 1.48851587 1.48851587) (f32x4.mul (local.get $t) (f32x4.add (v128.const f32x4 -0.82215223 -0.82215223 -0.82215223 -0.82215223) (f32x4.mul (local.get $t) (v128.const f32x4 0.17087277 0.17087277 0.17087277 0.17087277))))))))))))))))))))))
        (v128.store (local.get $p) (f32x4.mul (f32x4.mul (v128.const f32x4 0.5 0.5 0.5 0.5) (local.get $x))
          (v128.bitselect (f32x4.sub (v128.const f32x4 2 2 2 2) (local.get $r)) (local.get $r) (f32x4.ge (local.get $x) (v128.const f32x4 0 0 0 0)))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $step))))
)
