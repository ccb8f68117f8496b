/**
 * WebAssembly SIMD (f32x4) kernels, written in flat WAT and assembled by {@link assemble} at load
 * time (no toolchain). Every kernel works on a half-open range of rows / elements `[r0, r1)` so the
 * worker pool can split a call into chunks; a chunk's result never depends on which thread ran it,
 * and no two chunks write the same output (no racy accumulation).
 *
 * Backend: wasm SIMD kernels run by a persistent pool (calling thread + workers) on a shared
 * `WebAssembly.Memory` ({@link ./heap.ts}), rows split into nnz-balanced chunks taken with `Atomics.add`;
 * the JS kernels ({@link ./kernels-js.ts}) are the fallback for row widths that are not a multiple of 4.
 * Options measured and the choice: docs/decisions/053-wasm-simd-kernels-in-a-pool.md.
 *
 * ## Kernels
 *
 * All pointers are byte offsets into the shared heap memory ({@link ./heap.ts}); `d` / `n` / `k` are
 * element counts. Kernels on feature rows require the row width to be a multiple of 4 (the
 * TypeScript wrappers fall back to plain loops otherwise).
 *
 * | export | formula |
 * |---|---|
 * | `spmm(indptr, indices, values, x, y, d, z, r0, r1)` | Y[i,:] = Σ_{e ∈ row i} values[e] · X[indices[e], :] (+ Z[i,:] if z ≠ 0; z may equal y) |
 * | `sddmm(indptr, indices, a, b, out, d, r0, r1)` | out[e] = ⟨A[i,:], B[indices[e],:]⟩ for e ∈ row i |
 * | `gemm_nn(a, b, c, k, n, r0, r1)` | C[i,:] = A[i,:] · B  (A m×k, B k×n) |
 * | `gemm_tn(a, b, c, k, n, r0, r1)` | C = Σ_{i∈[r0,r1)} A[i,:]ᵀ B[i,:]  (C k×n, overwritten) |
 * | `gemm_nt(a, bt, c, k, n, r0, r1)` | C[i,j] = ⟨A[i,:], Bt[j,:]⟩ (any k, n: narrow outputs) |
 * | activations, segment softmax / sums, edge scores | see {@link ./wasm-math.ts} |
 * | `axpby(x, y, out, alpha, beta, r0, r1)` | out = α·x + β·y |
 * | `adam(p, g, m, v, b1, 1−b1, b2, 1−b2, eps, wd, lr·wd, decoupled, lr/bc1, 1/bc2, r0, r1)` | one Adam/AdamW step (scalars precomputed in float64) |
 */
import { assemble, type WasmFunction } from './wasm-asm.js';
import { mathKernels } from './wasm-math.js';

/** Column block widths (floats) of the unrolled SpMM passes: 8, 4 and 1 f32x4 accumulators. */
export const SPMM_BLOCKS = [32, 16, 4];

/** Emits the unrolled pass over one row's edges for a column block of `w` floats. */
function spmmPass(w: number): string {
  const nv = w / 4;
  const accs = Array.from({ length: nv }, (_, k) => `$a${k}`);
  const zero = accs.map((a) => `v128.const f32x4 0 0 0 0\nlocal.set ${a}`).join('\n');
  const fma = accs
    .map((a, k) => `local.get ${a}\nlocal.get $p\nv128.load offset=${16 * k} align=4\nlocal.get $v\nf32x4.mul\nf32x4.add\nlocal.set ${a}`)
    .join('\n');
  const store = accs.map((a, k) => `local.get $q\nlocal.get ${a}\nv128.store offset=${16 * k} align=4`).join('\n');
  const addZ = accs.map((a, k) => `local.get ${a}\nlocal.get $p\nv128.load offset=${16 * k} align=4\nf32x4.add\nlocal.set ${a}`).join('\n');
  const weight = `local.get $pv
       v128.load32_splat
       local.set $v
       local.get $pv
       i32.const 4
       i32.add
       local.set $pv`;
  return `
    block $end${w}
      loop $pass${w}
        local.get $rowBytes
        local.get $cb
        i32.sub
        i32.const ${w * 4}
        i32.lt_u
        br_if $end${w}
        ${zero}
        local.get $ps
        local.set $pe
        local.get $pvs
        local.set $pv
        block $edgesDone${w}
          loop $edges${w}
            local.get $pe
            local.get $peEnd
            i32.ge_u
            br_if $edgesDone${w}
            ;; p = x + indices[e] * rowBytes + cb
            local.get $x
            local.get $pe
            i32.load
            local.get $rowBytes
            i32.mul
            i32.add
            local.get $cb
            i32.add
            local.set $p
            ${weight}
            ${fma}
            local.get $pe
            i32.const 4
            i32.add
            local.set $pe
            br $edges${w}
          end
        end
        local.get $r
        local.get $rowBytes
        i32.mul
        local.get $cb
        i32.add
        local.set $t
        local.get $y
        local.get $t
        i32.add
        local.set $q
        ;; optional fused addition: acc += Z[r, cb..]
        local.get $z
        if
          local.get $z
          local.get $t
          i32.add
          local.set $p
          ${addZ}
        end
        ${store}
        local.get $cb
        i32.const ${w * 4}
        i32.add
        local.set $cb
        br $pass${w}
      end
    end`;
}

function spmmKernel(blocks: number[]): WasmFunction {
  const params: [string, 'i32'][] = [['indptr', 'i32'], ['indices', 'i32'], ['values', 'i32'], ['x', 'i32'], ['y', 'i32'], ['d', 'i32'], ['z', 'i32'], ['r0', 'i32'], ['r1', 'i32']];
  const nAcc = Math.max(...blocks) / 4;
  return {
    name: 'spmm',
    params,
    locals: [
      ['r', 'i32'], ['rowBytes', 'i32'], ['cb', 'i32'], ['ps', 'i32'], ['pe', 'i32'], ['peEnd', 'i32'],
      ['pvs', 'i32'], ['pv', 'i32'], ['p', 'i32'], ['q', 'i32'], ['t', 'i32'],
      ['v', 'v128'],
      ...Array.from({ length: nAcc }, (_, k) => [`a${k}`, 'v128'] as [string, 'v128']),
    ],
    body: `
      local.get $d
      i32.const 2
      i32.shl
      local.set $rowBytes
      local.get $r0
      local.set $r
      block $done
        loop $rows
          local.get $r
          local.get $r1
          i32.ge_s
          br_if $done
          ;; t = &indptr[r]; ps = indices + indptr[r]*4; peEnd = indices + indptr[r+1]*4
          local.get $indptr
          local.get $r
          i32.const 2
          i32.shl
          i32.add
          local.set $t
          local.get $t
          i32.load
          i32.const 2
          i32.shl
          local.set $p
          local.get $indices
          local.get $p
          i32.add
          local.set $ps
          local.get $values
          local.get $p
          i32.add
          local.set $pvs
          local.get $indices
          local.get $t
          i32.load offset=4
          i32.const 2
          i32.shl
          i32.add
          local.set $peEnd
          i32.const 0
          local.set $cb
          ${blocks.map((w) => spmmPass(w)).join('\n')}
          local.get $r
          i32.const 1
          i32.add
          local.set $r
          br $rows
        end
      end`,
  };
}

/** Horizontal sum of a f32x4 on the stack top → f32 (via local $h). */
const HSUM = `
  local.set $h
  local.get $h
  f32x4.extract_lane 0
  local.get $h
  f32x4.extract_lane 1
  f32.add
  local.get $h
  f32x4.extract_lane 2
  local.get $h
  f32x4.extract_lane 3
  f32.add
  f32.add`;

const sddmmKernel: WasmFunction = {
  name: 'sddmm',
  params: [['indptr', 'i32'], ['indices', 'i32'], ['a', 'i32'], ['b', 'i32'], ['out', 'i32'], ['d', 'i32'], ['r0', 'i32'], ['r1', 'i32']],
  locals: [
    ['r', 'i32'], ['rowBytes', 'i32'], ['e', 'i32'], ['eEnd', 'i32'], ['pa', 'i32'], ['pb', 'i32'], ['k', 'i32'],
    ['acc0', 'v128'], ['acc1', 'v128'], ['h', 'v128'],
  ],
  body: `
    local.get $d
    i32.const 2
    i32.shl
    local.set $rowBytes
    local.get $r0
    local.set $r
    block $done
      loop $rows
        local.get $r
        local.get $r1
        i32.ge_s
        br_if $done
        local.get $indptr
        local.get $r
        i32.const 2
        i32.shl
        i32.add
        local.tee $e
        i32.load offset=4
        local.set $eEnd
        local.get $e
        i32.load
        local.set $e
        block $edgesDone
          loop $edges
            local.get $e
            local.get $eEnd
            i32.ge_s
            br_if $edgesDone
            ;; pa = a + r*rowBytes, pb = b + indices[e]*rowBytes
            local.get $a
            local.get $r
            local.get $rowBytes
            i32.mul
            i32.add
            local.set $pa
            local.get $b
            local.get $indices
            local.get $e
            i32.const 2
            i32.shl
            i32.add
            i32.load
            local.get $rowBytes
            i32.mul
            i32.add
            local.set $pb
            v128.const f32x4 0 0 0 0
            local.set $acc0
            v128.const f32x4 0 0 0 0
            local.set $acc1
            i32.const 0
            local.set $k
            ;; two vectors per iteration while k+8 <= d
            block $d8
              loop $l8
                local.get $k
                i32.const 8
                i32.add
                local.get $d
                i32.gt_s
                br_if $d8
                local.get $acc0
                local.get $pa
                v128.load align=4
                local.get $pb
                v128.load align=4
                f32x4.mul
                f32x4.add
                local.set $acc0
                local.get $acc1
                local.get $pa
                v128.load offset=16 align=4
                local.get $pb
                v128.load offset=16 align=4
                f32x4.mul
                f32x4.add
                local.set $acc1
                local.get $pa
                i32.const 32
                i32.add
                local.set $pa
                local.get $pb
                i32.const 32
                i32.add
                local.set $pb
                local.get $k
                i32.const 8
                i32.add
                local.set $k
                br $l8
              end
            end
            block $d4
              loop $l4
                local.get $k
                i32.const 4
                i32.add
                local.get $d
                i32.gt_s
                br_if $d4
                local.get $acc0
                local.get $pa
                v128.load align=4
                local.get $pb
                v128.load align=4
                f32x4.mul
                f32x4.add
                local.set $acc0
                local.get $pa
                i32.const 16
                i32.add
                local.set $pa
                local.get $pb
                i32.const 16
                i32.add
                local.set $pb
                local.get $k
                i32.const 4
                i32.add
                local.set $k
                br $l4
              end
            end
            local.get $out
            local.get $e
            i32.const 2
            i32.shl
            i32.add
            local.get $acc0
            local.get $acc1
            f32x4.add
            ${HSUM}
            f32.store
            local.get $e
            i32.const 1
            i32.add
            local.set $e
            br $edges
          end
        end
        local.get $r
        i32.const 1
        i32.add
        local.set $r
        br $rows
      end
    end`,
};

/**
 * C[i, :] = A[i, :] · B for i ∈ [r0, r1). Register block: 1 row × 16 columns (4 accumulators),
 * then 1 × 4 for the rest of the columns (n must be a multiple of 4). Rows are processed two at a
 * time sharing each B load (2×16 block = 8 accumulators) when possible.
 */
const gemmNnKernel: WasmFunction = {
  name: 'gemm_nn',
  params: [['a', 'i32'], ['b', 'i32'], ['c', 'i32'], ['k', 'i32'], ['n', 'i32'], ['r0', 'i32'], ['r1', 'i32']],
  locals: [
    ['r', 'i32'], ['j', 'i32'], ['p', 'i32'], ['pa0', 'i32'], ['pa1', 'i32'], ['pb', 'i32'], ['pc', 'i32'], ['nBytes', 'i32'], ['kBytes', 'i32'],
    ['x0', 'v128'], ['x1', 'v128'], ['b0', 'v128'], ['b1', 'v128'], ['b2', 'v128'], ['b3', 'v128'],
    ['c0', 'v128'], ['c1', 'v128'], ['c2', 'v128'], ['c3', 'v128'], ['c4', 'v128'], ['c5', 'v128'], ['c6', 'v128'], ['c7', 'v128'],
  ],
  body: `
    local.get $n
    i32.const 2
    i32.shl
    local.set $nBytes
    local.get $k
    i32.const 2
    i32.shl
    local.set $kBytes
    local.get $r0
    local.set $r
    ;; pairs of rows
    block $pairsDone
      loop $pairs
        local.get $r
        i32.const 2
        i32.add
        local.get $r1
        i32.gt_s
        br_if $pairsDone
        i32.const 0
        local.set $j
        block $j16done
          loop $j16
            local.get $j
            i32.const 16
            i32.add
            local.get $n
            i32.gt_s
            br_if $j16done
            ${['c0', 'c1', 'c2', 'c3', 'c4', 'c5', 'c6', 'c7'].map((c) => `v128.const f32x4 0 0 0 0\nlocal.set $${c}`).join('\n')}
            local.get $a
            local.get $r
            local.get $kBytes
            i32.mul
            i32.add
            local.tee $pa0
            local.get $kBytes
            i32.add
            local.set $pa1
            local.get $b
            local.get $j
            i32.const 2
            i32.shl
            i32.add
            local.set $pb
            i32.const 0
            local.set $p
            block $kdone
              loop $kl
                local.get $p
                local.get $k
                i32.ge_s
                br_if $kdone
                local.get $pb
                v128.load align=4
                local.set $b0
                local.get $pb
                v128.load offset=16 align=4
                local.set $b1
                local.get $pb
                v128.load offset=32 align=4
                local.set $b2
                local.get $pb
                v128.load offset=48 align=4
                local.set $b3
                local.get $pa0
                v128.load32_splat
                local.set $x0
                local.get $pa1
                v128.load32_splat
                local.set $x1
                ${[0, 1, 2, 3].map((q) => `local.get $c${q}\nlocal.get $x0\nlocal.get $b${q}\nf32x4.mul\nf32x4.add\nlocal.set $c${q}`).join('\n')}
                ${[0, 1, 2, 3].map((q) => `local.get $c${q + 4}\nlocal.get $x1\nlocal.get $b${q}\nf32x4.mul\nf32x4.add\nlocal.set $c${q + 4}`).join('\n')}
                local.get $pa0
                i32.const 4
                i32.add
                local.set $pa0
                local.get $pa1
                i32.const 4
                i32.add
                local.set $pa1
                local.get $pb
                local.get $nBytes
                i32.add
                local.set $pb
                local.get $p
                i32.const 1
                i32.add
                local.set $p
                br $kl
              end
            end
            local.get $c
            local.get $r
            local.get $nBytes
            i32.mul
            i32.add
            local.get $j
            i32.const 2
            i32.shl
            i32.add
            local.set $pc
            ${[0, 1, 2, 3].map((q) => `local.get $pc\nlocal.get $c${q}\nv128.store offset=${16 * q} align=4`).join('\n')}
            local.get $pc
            local.get $nBytes
            i32.add
            local.set $pc
            ${[0, 1, 2, 3].map((q) => `local.get $pc\nlocal.get $c${q + 4}\nv128.store offset=${16 * q} align=4`).join('\n')}
            local.get $j
            i32.const 16
            i32.add
            local.set $j
            br $j16
          end
        end
        ;; leftover columns of this row pair, 4 at a time
        block $j4done
          loop $j4
            local.get $j
            i32.const 4
            i32.add
            local.get $n
            i32.gt_s
            br_if $j4done
            v128.const f32x4 0 0 0 0
            local.set $c0
            v128.const f32x4 0 0 0 0
            local.set $c4
            local.get $a
            local.get $r
            local.get $kBytes
            i32.mul
            i32.add
            local.tee $pa0
            local.get $kBytes
            i32.add
            local.set $pa1
            local.get $b
            local.get $j
            i32.const 2
            i32.shl
            i32.add
            local.set $pb
            i32.const 0
            local.set $p
            block $kdone4
              loop $kl4
                local.get $p
                local.get $k
                i32.ge_s
                br_if $kdone4
                local.get $pb
                v128.load align=4
                local.set $b0
                local.get $c0
                local.get $pa0
                v128.load32_splat
                local.get $b0
                f32x4.mul
                f32x4.add
                local.set $c0
                local.get $c4
                local.get $pa1
                v128.load32_splat
                local.get $b0
                f32x4.mul
                f32x4.add
                local.set $c4
                local.get $pa0
                i32.const 4
                i32.add
                local.set $pa0
                local.get $pa1
                i32.const 4
                i32.add
                local.set $pa1
                local.get $pb
                local.get $nBytes
                i32.add
                local.set $pb
                local.get $p
                i32.const 1
                i32.add
                local.set $p
                br $kl4
              end
            end
            local.get $c
            local.get $r
            local.get $nBytes
            i32.mul
            i32.add
            local.get $j
            i32.const 2
            i32.shl
            i32.add
            local.tee $pc
            local.get $c0
            v128.store align=4
            local.get $pc
            local.get $nBytes
            i32.add
            local.get $c4
            v128.store align=4
            local.get $j
            i32.const 4
            i32.add
            local.set $j
            br $j4
          end
        end
        local.get $r
        i32.const 2
        i32.add
        local.set $r
        br $pairs
      end
    end
    ;; a last single row: 4 columns at a time
    local.get $r
    local.get $r1
    i32.lt_s
    if
      i32.const 0
      local.set $j
      block $s4done
        loop $s4
          local.get $j
          i32.const 4
          i32.add
          local.get $n
          i32.gt_s
          br_if $s4done
          v128.const f32x4 0 0 0 0
          local.set $c0
          local.get $a
          local.get $r
          local.get $kBytes
          i32.mul
          i32.add
          local.set $pa0
          local.get $b
          local.get $j
          i32.const 2
          i32.shl
          i32.add
          local.set $pb
          i32.const 0
          local.set $p
          block $ks
            loop $kls
              local.get $p
              local.get $k
              i32.ge_s
              br_if $ks
              local.get $c0
              local.get $pa0
              v128.load32_splat
              local.get $pb
              v128.load align=4
              f32x4.mul
              f32x4.add
              local.set $c0
              local.get $pa0
              i32.const 4
              i32.add
              local.set $pa0
              local.get $pb
              local.get $nBytes
              i32.add
              local.set $pb
              local.get $p
              i32.const 1
              i32.add
              local.set $p
              br $kls
            end
          end
          local.get $c
          local.get $r
          local.get $nBytes
          i32.mul
          i32.add
          local.get $j
          i32.const 2
          i32.shl
          i32.add
          local.get $c0
          v128.store align=4
          local.get $j
          i32.const 4
          i32.add
          local.set $j
          br $s4
        end
      end
    end`,
};

/**
 * C (k×n) = Σ_{i ∈ [r0, r1)} A[i,:]ᵀ · B[i,:] with A m×k, B m×n (n a multiple of 4); C is
 * overwritten. Rank-4 updates C[p,:] += Σ_{q<4} A[i+q,p] · B[i+q,:] (one load/store of C per four
 * rows), then rank-1 updates for the last rows of the range.
 */
const gemmTnKernel: WasmFunction = {
  name: 'gemm_tn',
  params: [['a', 'i32'], ['b', 'i32'], ['c', 'i32'], ['k', 'i32'], ['n', 'i32'], ['r0', 'i32'], ['r1', 'i32']],
  locals: [
    ['i', 'i32'], ['p', 'i32'], ['pc', 'i32'], ['pb', 'i32'], ['end', 'i32'], ['nBytes', 'i32'], ['kBytes', 'i32'], ['pa', 'i32'], ['jo', 'i32'],
    ['x', 'v128'], ['x1', 'v128'], ['x2', 'v128'], ['x3', 'v128'],
  ],
  body: `
    local.get $n
    i32.const 2
    i32.shl
    local.set $nBytes
    local.get $k
    i32.const 2
    i32.shl
    local.set $kBytes
    ;; zero C
    local.get $c
    local.set $pc
    local.get $c
    local.get $k
    local.get $nBytes
    i32.mul
    i32.add
    local.set $end
    block $zd
      loop $zl
        local.get $pc
        local.get $end
        i32.ge_u
        br_if $zd
        local.get $pc
        v128.const f32x4 0 0 0 0
        v128.store align=4
        local.get $pc
        i32.const 16
        i32.add
        local.set $pc
        br $zl
      end
    end
    local.get $r0
    local.set $i
    ;; four rows at a time
    block $q4done
      loop $q4
        local.get $i
        i32.const 4
        i32.add
        local.get $r1
        i32.gt_s
        br_if $q4done
        local.get $a
        local.get $i
        local.get $kBytes
        i32.mul
        i32.add
        local.set $pa
        local.get $b
        local.get $i
        local.get $nBytes
        i32.mul
        i32.add
        local.set $pb
        i32.const 0
        local.set $p
        local.get $c
        local.set $pc
        block $p4done
          loop $p4
            local.get $p
            local.get $k
            i32.ge_s
            br_if $p4done
            local.get $pa
            v128.load32_splat
            local.set $x
            local.get $pa
            local.get $kBytes
            i32.add
            v128.load32_splat
            local.set $x1
            local.get $pa
            local.get $kBytes
            i32.const 2
            i32.mul
            i32.add
            v128.load32_splat
            local.set $x2
            local.get $pa
            local.get $kBytes
            i32.const 3
            i32.mul
            i32.add
            v128.load32_splat
            local.set $x3
            i32.const 0
            local.set $jo
            block $j4done
              loop $j4
                local.get $jo
                local.get $nBytes
                i32.ge_u
                br_if $j4done
                local.get $pc
                local.get $jo
                i32.add
                local.get $pc
                local.get $jo
                i32.add
                v128.load align=4
                local.get $pb
                local.get $jo
                i32.add
                v128.load align=4
                local.get $x
                f32x4.mul
                local.get $pb
                local.get $jo
                i32.add
                local.get $nBytes
                i32.add
                v128.load align=4
                local.get $x1
                f32x4.mul
                f32x4.add
                local.get $pb
                local.get $jo
                i32.add
                local.get $nBytes
                i32.const 2
                i32.mul
                i32.add
                v128.load align=4
                local.get $x2
                f32x4.mul
                f32x4.add
                local.get $pb
                local.get $jo
                i32.add
                local.get $nBytes
                i32.const 3
                i32.mul
                i32.add
                v128.load align=4
                local.get $x3
                f32x4.mul
                f32x4.add
                f32x4.add
                v128.store align=4
                local.get $jo
                i32.const 16
                i32.add
                local.set $jo
                br $j4
              end
            end
            local.get $pa
            i32.const 4
            i32.add
            local.set $pa
            local.get $pc
            local.get $nBytes
            i32.add
            local.set $pc
            local.get $p
            i32.const 1
            i32.add
            local.set $p
            br $p4
          end
        end
        local.get $i
        i32.const 4
        i32.add
        local.set $i
        br $q4
      end
    end
    ;; remaining rows one at a time
    block $idone
      loop $il
        local.get $i
        local.get $r1
        i32.ge_s
        br_if $idone
        i32.const 0
        local.set $p
        local.get $c
        local.set $pc
        block $pdone
          loop $pl
            local.get $p
            local.get $k
            i32.ge_s
            br_if $pdone
            ;; x = splat(A[i, p])
            local.get $a
            local.get $i
            local.get $k
            i32.mul
            local.get $p
            i32.add
            i32.const 2
            i32.shl
            i32.add
            v128.load32_splat
            local.set $x
            local.get $b
            local.get $i
            local.get $nBytes
            i32.mul
            i32.add
            local.set $pb
            local.get $pc
            local.get $nBytes
            i32.add
            local.set $end
            block $jdone
              loop $jl
                local.get $pc
                local.get $end
                i32.ge_u
                br_if $jdone
                local.get $pc
                local.get $pc
                v128.load align=4
                local.get $pb
                v128.load align=4
                local.get $x
                f32x4.mul
                f32x4.add
                v128.store align=4
                local.get $pc
                i32.const 16
                i32.add
                local.set $pc
                local.get $pb
                i32.const 16
                i32.add
                local.set $pb
                br $jl
              end
            end
            local.get $p
            i32.const 1
            i32.add
            local.set $p
            br $pl
          end
        end
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $il
      end
    end`,
};

/**
 * C[i, j] = ⟨A[i,:], Bt[j,:]⟩ for i ∈ [r0, r1), j < n (A m×k, Bt n×k, any k and n): dot products
 * in f32x4 with a scalar tail. Used for narrow outputs (n not a multiple of 4, e.g. attention
 * vectors) where the register-blocked {@link gemmNnKernel} does not apply.
 */
const gemmNtKernel: WasmFunction = {
  name: 'gemm_nt',
  params: [['a', 'i32'], ['bt', 'i32'], ['c', 'i32'], ['k', 'i32'], ['n', 'i32'], ['r0', 'i32'], ['r1', 'i32']],
  locals: [
    ['i', 'i32'], ['j', 'i32'], ['p', 'i32'], ['pa', 'i32'], ['pb', 'i32'], ['pc', 'i32'], ['kBytes', 'i32'], ['k4', 'i32'],
    ['s', 'f32'], ['acc', 'v128'], ['h', 'v128'],
  ],
  body: `
    local.get $k
    i32.const 2
    i32.shl
    local.set $kBytes
    local.get $k
    i32.const -4
    i32.and
    local.set $k4
    local.get $r0
    local.set $i
    block $idone
      loop $il
        local.get $i
        local.get $r1
        i32.ge_s
        br_if $idone
        i32.const 0
        local.set $j
        block $jdone
          loop $jl
            local.get $j
            local.get $n
            i32.ge_s
            br_if $jdone
            local.get $a
            local.get $i
            local.get $kBytes
            i32.mul
            i32.add
            local.set $pa
            local.get $bt
            local.get $j
            local.get $kBytes
            i32.mul
            i32.add
            local.set $pb
            v128.const f32x4 0 0 0 0
            local.set $acc
            i32.const 0
            local.set $p
            block $vd
              loop $vl
                local.get $p
                local.get $k4
                i32.ge_s
                br_if $vd
                local.get $acc
                local.get $pa
                v128.load align=4
                local.get $pb
                v128.load align=4
                f32x4.mul
                f32x4.add
                local.set $acc
                local.get $pa
                i32.const 16
                i32.add
                local.set $pa
                local.get $pb
                i32.const 16
                i32.add
                local.set $pb
                local.get $p
                i32.const 4
                i32.add
                local.set $p
                br $vl
              end
            end
            local.get $acc
            ${HSUM}
            local.set $s
            block $sd
              loop $sl
                local.get $p
                local.get $k
                i32.ge_s
                br_if $sd
                local.get $s
                local.get $pa
                f32.load
                local.get $pb
                f32.load
                f32.mul
                f32.add
                local.set $s
                local.get $pa
                i32.const 4
                i32.add
                local.set $pa
                local.get $pb
                i32.const 4
                i32.add
                local.set $pb
                local.get $p
                i32.const 1
                i32.add
                local.set $p
                br $sl
              end
            end
            local.get $c
            local.get $i
            local.get $n
            i32.mul
            local.get $j
            i32.add
            i32.const 2
            i32.shl
            i32.add
            local.get $s
            f32.store
            local.get $j
            i32.const 1
            i32.add
            local.set $j
            br $jl
          end
        end
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $il
      end
    end`,
};

/** Emits a loop over elements [r0, r1) in f32x4 steps with a scalar tail; `vec`/`sca` compute one step from $o (byte offset). */
function elementwise(name: string, params: [string, 'i32' | 'f32'][], locals: [string, 'i32' | 'f32' | 'v128'][], prologue: string, vec: string, sca: string): WasmFunction {
  return {
    name,
    params: [...params, ['r0', 'i32'], ['r1', 'i32']],
    locals: [['o', 'i32'], ['oEnd', 'i32'], ['oVec', 'i32'], ...locals],
    body: `
      ${prologue}
      local.get $r0
      i32.const 2
      i32.shl
      local.set $o
      local.get $r1
      i32.const 2
      i32.shl
      local.set $oEnd
      ;; oVec = o + floor((r1 - r0) / 4) * 16
      local.get $o
      local.get $r1
      local.get $r0
      i32.sub
      i32.const -4
      i32.and
      i32.const 2
      i32.shl
      i32.add
      local.set $oVec
      block $vd
        loop $vl
          local.get $o
          local.get $oVec
          i32.ge_u
          br_if $vd
          ${vec}
          local.get $o
          i32.const 16
          i32.add
          local.set $o
          br $vl
        end
      end
      block $sd
        loop $sl
          local.get $o
          local.get $oEnd
          i32.ge_u
          br_if $sd
          ${sca}
          local.get $o
          i32.const 4
          i32.add
          local.set $o
          br $sl
        end
      end`,
  };
}

const axpbyKernel = elementwise(
  'axpby',
  [['x', 'i32'], ['y', 'i32'], ['out', 'i32'], ['alpha', 'f32'], ['beta', 'f32']],
  [['va', 'v128'], ['vb', 'v128']],
  `local.get $alpha
   f32x4.splat
   local.set $va
   local.get $beta
   f32x4.splat
   local.set $vb`,
  `local.get $out
   local.get $o
   i32.add
   local.get $x
   local.get $o
   i32.add
   v128.load align=4
   local.get $va
   f32x4.mul
   local.get $y
   local.get $o
   i32.add
   v128.load align=4
   local.get $vb
   f32x4.mul
   f32x4.add
   v128.store align=4`,
  `local.get $out
   local.get $o
   i32.add
   local.get $x
   local.get $o
   i32.add
   f32.load
   local.get $alpha
   f32.mul
   local.get $y
   local.get $o
   i32.add
   f32.load
   local.get $beta
   f32.mul
   f32.add
   f32.store`,
);

/**
 * Adam / AdamW on elements [r0, r1):
 * g' = g + wd·p (Adam, L2 coupled) or p ← p − lr·wd·p first (AdamW, decoupled);
 * m ← β1 m + (1−β1) g'; v ← β2 v + (1−β2) g'²; p ← p − lr · (m / bc1) / (sqrt(v / bc2) + ε).
 */
function adamStep(vec: boolean): string {
  const T = vec ? 'f32x4' : 'f32';
  const ld = (ptr: string) => (vec ? `local.get $${ptr}\nlocal.get $o\ni32.add\nv128.load align=4` : `local.get $${ptr}\nlocal.get $o\ni32.add\nf32.load`);
  const st = vec ? 'v128.store align=4' : 'f32.store';
  const c = (s: string) => (vec ? `local.get $V${s}` : `local.get $${s}`);
  const G = vec ? '$vg' : '$sg';
  const P = vec ? '$vp' : '$sp';
  const M = vec ? '$vm' : '$sm';
  const Vv = vec ? '$vv' : '$sv';
  return `
    ${ld('g')}
    local.set ${G}
    ${ld('p')}
    local.set ${P}
    ;; coupled L2: g += wd * p  (decoupled: p -= lr*wd*p)
    local.get $decoupled
    if
      local.get ${P}
      local.get ${P}
      ${c('lrwd')}
      ${T}.mul
      ${T}.sub
      local.set ${P}
    else
      local.get ${G}
      local.get ${P}
      ${c('wd')}
      ${T}.mul
      ${T}.add
      local.set ${G}
    end
    ${ld('m')}
    ${c('b1')}
    ${T}.mul
    local.get ${G}
    ${c('omb1')}
    ${T}.mul
    ${T}.add
    local.set ${M}
    ${ld('v')}
    ${c('b2')}
    ${T}.mul
    local.get ${G}
    local.get ${G}
    ${T}.mul
    ${c('omb2')}
    ${T}.mul
    ${T}.add
    local.set ${Vv}
    local.get $m
    local.get $o
    i32.add
    local.get ${M}
    ${st}
    local.get $v
    local.get $o
    i32.add
    local.get ${Vv}
    ${st}
    local.get $p
    local.get $o
    i32.add
    local.get ${P}
    local.get ${M}
    ${c('stepSize')}
    ${T}.mul
    local.get ${Vv}
    ${c('ibc2')}
    ${T}.mul
    ${T}.sqrt
    ${c('eps')}
    ${T}.add
    ${T}.div
    ${T}.sub
    ${st}`;
}

const adamKernel = elementwise(
  'adam',
  [
    ['p', 'i32'], ['g', 'i32'], ['m', 'i32'], ['v', 'i32'],
    ['b1', 'f32'], ['omb1', 'f32'], ['b2', 'f32'], ['omb2', 'f32'], ['eps', 'f32'], ['wd', 'f32'], ['lrwd', 'f32'],
    ['decoupled', 'i32'], ['stepSize', 'f32'], ['ibc2', 'f32'],
  ],
  [
    ['sg', 'f32'], ['sp', 'f32'], ['sm', 'f32'], ['sv', 'f32'],
    ['Vb1', 'v128'], ['Vb2', 'v128'], ['Veps', 'v128'], ['Vwd', 'v128'], ['Vomb1', 'v128'], ['Vomb2', 'v128'],
    ['VstepSize', 'v128'], ['Vibc2', 'v128'], ['Vlrwd', 'v128'],
    ['vg', 'v128'], ['vp', 'v128'], ['vm', 'v128'], ['vv', 'v128'],
  ],
  `${['b1', 'b2', 'eps', 'wd', 'omb1', 'omb2', 'stepSize', 'ibc2', 'lrwd'].map((s) => `local.get $${s}\nf32x4.splat\nlocal.set $V${s}`).join('\n')}`,
  adamStep(true),
  adamStep(false),
);

/** All kernels of the module, in export order (`spmmBlocks`: column block widths, for tuning). */
export function kernels(spmmBlocks: number[] = SPMM_BLOCKS): WasmFunction[] {
  return [spmmKernel(spmmBlocks), sddmmKernel, gemmNnKernel, gemmTnKernel, gemmNtKernel, axpbyKernel, adamKernel, ...mathKernels()];
}

/** Assembles the kernel module for a memory import of the given limits. */
export function kernelModuleBytes(maxPages: number, spmmBlocks: number[] = SPMM_BLOCKS): Uint8Array<ArrayBuffer> {
  return assemble({ memory: { minPages: 1, maxPages, shared: true }, functions: kernels(spmmBlocks) });
}

/** Signatures of the exported kernels as seen from JavaScript (all pointers are byte offsets). */
export interface KernelExports {
  spmm(indptr: number, indices: number, values: number, x: number, y: number, d: number, z: number, r0: number, r1: number): void;
  sddmm(indptr: number, indices: number, a: number, b: number, out: number, d: number, r0: number, r1: number): void;
  gemm_nn(a: number, b: number, c: number, k: number, n: number, r0: number, r1: number): void;
  gemm_tn(a: number, b: number, c: number, k: number, n: number, r0: number, r1: number): void;
  gemm_nt(a: number, bt: number, c: number, k: number, n: number, r0: number, r1: number): void;
  axpby(x: number, y: number, out: number, alpha: number, beta: number, r0: number, r1: number): void;
  adam(
    p: number, g: number, m: number, v: number,
    b1: number, omb1: number, b2: number, omb2: number, eps: number, wd: number, lrwd: number,
    decoupled: number, stepSize: number, ibc2: number, r0: number, r1: number,
  ): void;
}
