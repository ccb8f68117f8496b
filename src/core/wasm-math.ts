/**
 * WebAssembly kernels for transcendental element-wise ops and per-edge (segment) ops, the attention
 * path of GAT. Same conventions as {@link ./wasm-kernels.ts}: byte pointers into the shared heap,
 * a half-open range `[r0, r1)` of elements or CSR rows last, disjoint outputs per chunk.
 *
 * Wasm has no `exp`; {@link expParts} emits a Cephes-style `expf` (range reduction
 * x = n·ln2 + r, |r| ≤ ln2/2, degree-5 minimax polynomial, 2ⁿ assembled in the exponent bits;
 * relative error ≈ 1e-7) for f32x4 or f32. `expm1` reuses it without cancellation near 0:
 * e^x − 1 = 2ⁿ·q + (2ⁿ − 1) with q = r + r²·P(r), exact when n = 0.
 *
 * | export | formula |
 * |---|---|
 * | `relu_fwd(x, y)` / `relu_bwd(x, dy, dx)` | y = max(x, 0);  dx = dy·[x > 0] |
 * | `leaky_fwd(x, y, s)` / `leaky_bwd(x, dy, dx, s)` | y = x > 0 ? x : s·x;  dx = dy·(x > 0 ? 1 : s) |
 * | `elu_fwd(x, y)` / `elu_bwd(x, dy, dx)` | y = x > 0 ? x : eˣ − 1;  dx = dy·(x > 0 ? 1 : eˣ) |
 * | `sigmoid_fwd(x, y)` / `sigmoid_bwd(y, dy, dx)` | y = 1/(1 + e^{−x});  dx = dy·y·(1 − y) |
 * | `hadamard(x, y, out)` | out = x ⊙ y |
 * | `segment_softmax(indptr, s, out)` | α_e = exp(s_e − max_row) / Σ_row (rows r0..r1) |
 * | `segment_softmax_bwd(indptr, alpha, da, ds)` | ds_e = α_e (da_e − Σ_row α·da) |
 * | `edge_score_sum(indptr, indices, t, u, out)` | out_e = t[i] + u[indices[e]] |
 * | `segment_sum(indptr, g, out)` | out[i] = Σ_{e∈row i} g_e |
 * | `segment_sum_perm(indptr, perm, g, out)` | out[j] = Σ_{t∈row j} g[perm[t]] (column sums via the transposed CSR) |
 * | `gather_f32(idx, src, out)` | out[i] = src[idx[i]] |
 */
import type { WasmFunction } from './wasm-asm.js';

const f4 = (v: number): string => `v128.const f32x4 ${v} ${v} ${v} ${v}`;

const EXP_HI = 88.0;
const EXP_LO = -88.0;
const LOG2E = 1.4426950408889634;
const C1 = 0.693359375;
const C2 = -2.12194440e-4;
const P = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];

/**
 * Code computing, from the value of local `$x`, the locals `$p2` = 2ⁿ and `$q` = r + r²·P(r) with
 * e^x = p2·q + p2 and e^x − 1 = p2·q + (p2 − 1). `p2` and `q` must be declared by the caller
 * (v128 for `vec`, f32 otherwise).
 */
export function expParts(vec: boolean, x: string, p2: string, q: string): string {
  const T = vec ? 'f32x4' : 'f32';
  const c = (v: number): string => (vec ? f4(v) : `f32.const ${v}`);
  const horner = P.slice(1)
    .map((pk) => `local.get $exR\n${T}.mul\n${c(pk)}\n${T}.add`)
    .join('\n');
  const pow2 = vec
    ? `local.get $exF
       i32x4.trunc_sat_f32x4_s
       i32.const 127
       i32x4.splat
       i32x4.add
       i32.const 23
       i32x4.shl
       local.set $${p2}`
    : `local.get $exF
       i32.trunc_f32_s
       i32.const 127
       i32.add
       i32.const 23
       i32.shl
       f32.reinterpret_i32
       local.set $${p2}`;
  return `
    local.get $${x}
    ${c(EXP_HI)}
    ${T}.min
    ${c(EXP_LO)}
    ${T}.max
    local.set $exX
    local.get $exX
    ${c(LOG2E)}
    ${T}.mul
    ${c(0.5)}
    ${T}.add
    ${T}.floor
    local.set $exF
    local.get $exX
    local.get $exF
    ${c(C1)}
    ${T}.mul
    ${T}.sub
    local.get $exF
    ${c(C2)}
    ${T}.mul
    ${T}.sub
    local.set $exR
    ${c(P[0])}
    ${horner}
    local.get $exR
    ${T}.mul
    local.get $exR
    ${T}.mul
    local.get $exR
    ${T}.add
    local.set $${q}
    ${pow2}`;
}

/** e^x of local `$x` onto the stack (needs locals p2, q of the flavour). */
function expInto(vec: boolean, x: string): string {
  const T = vec ? 'f32x4' : 'f32';
  return `${expParts(vec, x, 'p2', 'q')}
    local.get $p2
    local.get $q
    ${T}.mul
    local.get $p2
    ${T}.add`;
}

/** e^x − 1 of local `$x` onto the stack. */
function expm1Into(vec: boolean, x: string): string {
  const T = vec ? 'f32x4' : 'f32';
  return `${expParts(vec, x, 'p2', 'q')}
    local.get $p2
    local.get $q
    ${T}.mul
    local.get $p2
    ${vec ? f4(1) : 'f32.const 1'}
    ${T}.sub
    ${T}.add`;
}

interface MapSpec {
  name: string;
  /** pointer params before r0, r1 (all i32) plus optional f32 params */
  params: [string, 'i32' | 'f32'][];
  /** code for one step; `$o` is the byte offset of the element(s); `vec` selects f32x4 */
  step: (vec: boolean) => string;
}

const ptr = (p: string, vec: boolean): string => `local.get $${p}\nlocal.get $o\ni32.add\n${vec ? 'v128.load align=4' : 'f32.load'}`;
const storeTo = (p: string, value: string, vec: boolean): string => `local.get $${p}\nlocal.get $o\ni32.add\n${value}\n${vec ? 'v128.store align=4' : 'f32.store'}`;

/** Element loop over [r0, r1) with f32x4 steps then a scalar tail; locals for both flavours. */
function mapKernel(spec: MapSpec): WasmFunction {
  return {
    name: spec.name,
    params: [...spec.params, ['r0', 'i32'], ['r1', 'i32']],
    locals: [
      ['o', 'i32'], ['oEnd', 'i32'], ['oVec', 'i32'],
      ['vx', 'v128'], ['vm', 'v128'], ['p2v', 'v128'], ['qv', 'v128'], ['exXv', 'v128'], ['exFv', 'v128'], ['exRv', 'v128'],
      ['sx', 'f32'], ['p2s', 'f32'], ['qs', 'f32'], ['exXs', 'f32'], ['exFs', 'f32'], ['exRs', 'f32'],
    ],
    body: `
      local.get $r0
      i32.const 2
      i32.shl
      local.set $o
      local.get $r1
      i32.const 2
      i32.shl
      local.set $oEnd
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
          ${renameFlavour(spec.step(true), true)}
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
          ${renameFlavour(spec.step(false), false)}
          local.get $o
          i32.const 4
          i32.add
          local.set $o
          br $sl
        end
      end`,
  };
}

/** Maps the flavour-neutral local names of the exp code to the v / s locals of {@link mapKernel}. */
function renameFlavour(code: string, vec: boolean): string {
  const suf = vec ? 'v' : 's';
  return code.replace(/\$(p2|q|exX|exF|exR)\b/g, (_, n: string) => `$${n}${suf}`).replace(/\$val\b/g, vec ? '$vx' : '$sx');
}

const relu: MapSpec[] = [
  {
    name: 'relu_fwd',
    params: [['x', 'i32'], ['y', 'i32']],
    step: (vec) => storeTo('y', `${ptr('x', vec)}\n${vec ? f4(0) : 'f32.const 0'}\n${vec ? 'f32x4.max' : 'f32.max'}`, vec),
  },
  {
    name: 'relu_bwd',
    params: [['x', 'i32'], ['dy', 'i32'], ['dx', 'i32']],
    step: (vec) =>
      vec
        ? storeTo('dx', `${ptr('dy', true)}\n${f4(0)}\n${ptr('x', true)}\n${f4(0)}\nf32x4.gt\nv128.bitselect`, true)
        : storeTo('dx', `${ptr('dy', false)}\nf32.const 0\n${ptr('x', false)}\nf32.const 0\nf32.gt\nselect`, false),
  },
];

const leaky: MapSpec[] = [
  {
    name: 'leaky_fwd',
    params: [['x', 'i32'], ['y', 'i32'], ['slope', 'f32']],
    step: (vec) =>
      vec
        ? `${ptr('x', true)}\nlocal.set $vx\n` +
          storeTo('y', `local.get $vx\nlocal.get $vx\nlocal.get $slope\nf32x4.splat\nf32x4.mul\nlocal.get $vx\n${f4(0)}\nf32x4.gt\nv128.bitselect`, true)
        : `${ptr('x', false)}\nlocal.set $sx\n` + storeTo('y', `local.get $sx\nlocal.get $sx\nlocal.get $slope\nf32.mul\nlocal.get $sx\nf32.const 0\nf32.gt\nselect`, false),
  },
  {
    name: 'leaky_bwd',
    params: [['x', 'i32'], ['dy', 'i32'], ['dx', 'i32'], ['slope', 'f32']],
    step: (vec) =>
      vec
        ? `${ptr('dy', true)}\nlocal.set $vx\n` +
          storeTo('dx', `local.get $vx\nlocal.get $vx\nlocal.get $slope\nf32x4.splat\nf32x4.mul\n${ptr('x', true)}\n${f4(0)}\nf32x4.gt\nv128.bitselect`, true)
        : `${ptr('dy', false)}\nlocal.set $sx\n` + storeTo('dx', `local.get $sx\nlocal.get $sx\nlocal.get $slope\nf32.mul\n${ptr('x', false)}\nf32.const 0\nf32.gt\nselect`, false),
  },
];

const elu: MapSpec[] = [
  {
    name: 'elu_fwd',
    params: [['x', 'i32'], ['y', 'i32']],
    step: (vec) =>
      vec
        ? `${ptr('x', true)}\nlocal.set $val\n` + storeTo('y', `local.get $val\n${expm1Into(true, 'val')}\nlocal.get $val\n${f4(0)}\nf32x4.gt\nv128.bitselect`, true)
        : `${ptr('x', false)}\nlocal.set $val\n` + storeTo('y', `local.get $val\n${expm1Into(false, 'val')}\nlocal.get $val\nf32.const 0\nf32.gt\nselect`, false),
  },
  {
    name: 'elu_bwd',
    params: [['x', 'i32'], ['dy', 'i32'], ['dx', 'i32']],
    step: (vec) =>
      vec
        ? `${ptr('x', true)}\nlocal.set $val\n` +
          storeTo('dx', `${ptr('dy', true)}\n${ptr('dy', true)}\n${expInto(true, 'val')}\nf32x4.mul\nlocal.get $val\n${f4(0)}\nf32x4.gt\nv128.bitselect`, true)
        : `${ptr('x', false)}\nlocal.set $val\n` + storeTo('dx', `${ptr('dy', false)}\n${ptr('dy', false)}\n${expInto(false, 'val')}\nf32.mul\nlocal.get $val\nf32.const 0\nf32.gt\nselect`, false),
  },
];

const sigmoid: MapSpec[] = [
  {
    name: 'sigmoid_fwd',
    params: [['x', 'i32'], ['y', 'i32']],
    // 1 / (1 + e^{-x}); the clamp inside exp keeps it finite
    step: (vec) =>
      vec
        ? `${ptr('x', true)}\nf32x4.neg\nlocal.set $val\n` + storeTo('y', `${f4(1)}\n${f4(1)}\n${expInto(true, 'val')}\nf32x4.add\nf32x4.div`, true)
        : `${ptr('x', false)}\nf32.neg\nlocal.set $val\n` + storeTo('y', `f32.const 1\nf32.const 1\n${expInto(false, 'val')}\nf32.add\nf32.div`, false),
  },
  {
    name: 'sigmoid_bwd',
    params: [['y', 'i32'], ['dy', 'i32'], ['dx', 'i32']],
    step: (vec) => {
      const T = vec ? 'f32x4' : 'f32';
      const one = vec ? f4(1) : 'f32.const 1';
      return `${ptr('y', vec)}\nlocal.set $val\n` + storeTo('dx', `${ptr('dy', vec)}\nlocal.get $val\n${T}.mul\n${one}\nlocal.get $val\n${T}.sub\n${T}.mul`, vec);
    },
  },
  {
    name: 'hadamard',
    params: [['x', 'i32'], ['y', 'i32'], ['out', 'i32']],
    step: (vec) => storeTo('out', `${ptr('x', vec)}\n${ptr('y', vec)}\n${vec ? 'f32x4.mul' : 'f32.mul'}`, vec),
  },
];

/** Row loop header shared by the segment kernels: sets $b, $e1 (byte offsets of the row's entries). */
const rowLoop = (inner: string): string => `
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
      local.tee $b
      i32.load offset=4
      i32.const 2
      i32.shl
      local.set $e1
      local.get $b
      i32.load
      i32.const 2
      i32.shl
      local.set $b
      ${inner}
      local.get $r
      i32.const 1
      i32.add
      local.set $r
      br $rows
    end
  end`;

/** for (o = b; o + 16 <= e1; o += 16) vec; for (; o < e1; o += 4) sca — over a row's entries. */
const rowElems = (tag: string, vec: string, sca: string): string => `
  local.get $b
  local.set $o
  block $${tag}vd
    loop $${tag}vl
      local.get $o
      i32.const 16
      i32.add
      local.get $e1
      i32.gt_u
      br_if $${tag}vd
      ${vec}
      local.get $o
      i32.const 16
      i32.add
      local.set $o
      br $${tag}vl
    end
  end
  block $${tag}sd
    loop $${tag}sl
      local.get $o
      local.get $e1
      i32.ge_u
      br_if $${tag}sd
      ${sca}
      local.get $o
      i32.const 4
      i32.add
      local.set $o
      br $${tag}sl
    end
  end`;

const HSUM4 = (v: string): string => `local.get $${v}\nf32x4.extract_lane 0\nlocal.get $${v}\nf32x4.extract_lane 1\nf32.add\nlocal.get $${v}\nf32x4.extract_lane 2\nlocal.get $${v}\nf32x4.extract_lane 3\nf32.add\nf32.add`;

const segLocals: [string, 'i32' | 'f32' | 'v128'][] = [
  ['r', 'i32'], ['b', 'i32'], ['e1', 'i32'], ['o', 'i32'],
  ['mx', 'f32'], ['sum', 'f32'], ['inv', 'f32'], ['vsum', 'v128'], ['vx', 'v128'], ['sx', 'f32'],
  ['p2v', 'v128'], ['qv', 'v128'], ['exXv', 'v128'], ['exFv', 'v128'], ['exRv', 'v128'],
  ['p2s', 'f32'], ['qs', 'f32'], ['exXs', 'f32'], ['exFs', 'f32'], ['exRs', 'f32'],
];

const segmentSoftmax: WasmFunction = {
  name: 'segment_softmax',
  params: [['indptr', 'i32'], ['s', 'i32'], ['out', 'i32'], ['r0', 'i32'], ['r1', 'i32']],
  locals: segLocals,
  body: rowLoop(`
    f32.const -inf
    local.set $mx
    local.get $b
    local.set $o
    block $md
      loop $ml
        local.get $o
        local.get $e1
        i32.ge_u
        br_if $md
        local.get $mx
        local.get $s
        local.get $o
        i32.add
        f32.load
        f32.max
        local.set $mx
        local.get $o
        i32.const 4
        i32.add
        local.set $o
        br $ml
      end
    end
    v128.const f32x4 0 0 0 0
    local.set $vsum
    f32.const 0
    local.set $sum
    ${rowElems(
      'x',
      renameFlavour(
        `local.get $s
         local.get $o
         i32.add
         v128.load align=4
         local.get $mx
         f32x4.splat
         f32x4.sub
         local.set $val
         ${expInto(true, 'val')}
         local.set $val
         local.get $out
         local.get $o
         i32.add
         local.get $val
         v128.store align=4
         local.get $vsum
         local.get $val
         f32x4.add
         local.set $vsum`,
        true,
      ),
      renameFlavour(
        `local.get $s
         local.get $o
         i32.add
         f32.load
         local.get $mx
         f32.sub
         local.set $val
         ${expInto(false, 'val')}
         local.set $val
         local.get $out
         local.get $o
         i32.add
         local.get $val
         f32.store
         local.get $sum
         local.get $val
         f32.add
         local.set $sum`,
        false,
      ),
    )}
    f32.const 1
    local.get $sum
    ${HSUM4('vsum')}
    f32.add
    f32.div
    local.set $inv
    ${rowElems(
      'n',
      `local.get $out
       local.get $o
       i32.add
       local.get $out
       local.get $o
       i32.add
       v128.load align=4
       local.get $inv
       f32x4.splat
       f32x4.mul
       v128.store align=4`,
      `local.get $out
       local.get $o
       i32.add
       local.get $out
       local.get $o
       i32.add
       f32.load
       local.get $inv
       f32.mul
       f32.store`,
    )}`),
};

const segmentSoftmaxBwd: WasmFunction = {
  name: 'segment_softmax_bwd',
  params: [['indptr', 'i32'], ['alpha', 'i32'], ['da', 'i32'], ['ds', 'i32'], ['r0', 'i32'], ['r1', 'i32']],
  locals: segLocals,
  body: rowLoop(`
    v128.const f32x4 0 0 0 0
    local.set $vsum
    f32.const 0
    local.set $sum
    ${rowElems(
      'd',
      `local.get $vsum
       local.get $alpha
       local.get $o
       i32.add
       v128.load align=4
       local.get $da
       local.get $o
       i32.add
       v128.load align=4
       f32x4.mul
       f32x4.add
       local.set $vsum`,
      `local.get $sum
       local.get $alpha
       local.get $o
       i32.add
       f32.load
       local.get $da
       local.get $o
       i32.add
       f32.load
       f32.mul
       f32.add
       local.set $sum`,
    )}
    local.get $sum
    ${HSUM4('vsum')}
    f32.add
    local.set $mx
    ${rowElems(
      'g',
      `local.get $ds
       local.get $o
       i32.add
       local.get $alpha
       local.get $o
       i32.add
       v128.load align=4
       local.get $da
       local.get $o
       i32.add
       v128.load align=4
       local.get $mx
       f32x4.splat
       f32x4.sub
       f32x4.mul
       v128.store align=4`,
      `local.get $ds
       local.get $o
       i32.add
       local.get $alpha
       local.get $o
       i32.add
       f32.load
       local.get $da
       local.get $o
       i32.add
       f32.load
       local.get $mx
       f32.sub
       f32.mul
       f32.store`,
    )}`),
};

const edgeScoreSum: WasmFunction = {
  name: 'edge_score_sum',
  params: [['indptr', 'i32'], ['indices', 'i32'], ['t', 'i32'], ['u', 'i32'], ['out', 'i32'], ['r0', 'i32'], ['r1', 'i32']],
  locals: segLocals,
  body: rowLoop(`
    local.get $t
    local.get $r
    i32.const 2
    i32.shl
    i32.add
    f32.load
    local.set $mx
    local.get $b
    local.set $o
    block $ed
      loop $el
        local.get $o
        local.get $e1
        i32.ge_u
        br_if $ed
        local.get $out
        local.get $o
        i32.add
        local.get $mx
        local.get $u
        local.get $indices
        local.get $o
        i32.add
        i32.load
        i32.const 2
        i32.shl
        i32.add
        f32.load
        f32.add
        f32.store
        local.get $o
        i32.const 4
        i32.add
        local.set $o
        br $el
      end
    end`),
};

const segmentSum: WasmFunction = {
  name: 'segment_sum',
  params: [['indptr', 'i32'], ['g', 'i32'], ['out', 'i32'], ['r0', 'i32'], ['r1', 'i32']],
  locals: segLocals,
  body: rowLoop(`
    f32.const 0
    local.set $sum
    local.get $b
    local.set $o
    block $sd
      loop $sl
        local.get $o
        local.get $e1
        i32.ge_u
        br_if $sd
        local.get $sum
        local.get $g
        local.get $o
        i32.add
        f32.load
        f32.add
        local.set $sum
        local.get $o
        i32.const 4
        i32.add
        local.set $o
        br $sl
      end
    end
    local.get $out
    local.get $r
    i32.const 2
    i32.shl
    i32.add
    local.get $sum
    f32.store`),
};

const segmentSumPerm: WasmFunction = {
  name: 'segment_sum_perm',
  params: [['indptr', 'i32'], ['perm', 'i32'], ['g', 'i32'], ['out', 'i32'], ['r0', 'i32'], ['r1', 'i32']],
  locals: segLocals,
  body: rowLoop(`
    f32.const 0
    local.set $sum
    local.get $b
    local.set $o
    block $sd
      loop $sl
        local.get $o
        local.get $e1
        i32.ge_u
        br_if $sd
        local.get $sum
        local.get $g
        local.get $perm
        local.get $o
        i32.add
        i32.load
        i32.const 2
        i32.shl
        i32.add
        f32.load
        f32.add
        local.set $sum
        local.get $o
        i32.const 4
        i32.add
        local.set $o
        br $sl
      end
    end
    local.get $out
    local.get $r
    i32.const 2
    i32.shl
    i32.add
    local.get $sum
    f32.store`),
};

/** out[i] = src[idx[i]] for i ∈ [r0, r1) (per-edge values into transposed order). */
const gatherF32: WasmFunction = {
  name: 'gather_f32',
  params: [['idx', 'i32'], ['src', 'i32'], ['out', 'i32'], ['r0', 'i32'], ['r1', 'i32']],
  locals: [['o', 'i32'], ['oEnd', 'i32']],
  body: `
    local.get $r0
    i32.const 2
    i32.shl
    local.set $o
    local.get $r1
    i32.const 2
    i32.shl
    local.set $oEnd
    block $d
      loop $l
        local.get $o
        local.get $oEnd
        i32.ge_u
        br_if $d
        local.get $out
        local.get $o
        i32.add
        local.get $src
        local.get $idx
        local.get $o
        i32.add
        i32.load
        i32.const 2
        i32.shl
        i32.add
        f32.load
        f32.store
        local.get $o
        i32.const 4
        i32.add
        local.set $o
        br $l
      end
    end`,
};

/** The kernels of this file, in export order. */
export function mathKernels(): WasmFunction[] {
  return [...relu, ...leaky, ...elu, ...sigmoid].map(mapKernel).concat([segmentSoftmax, segmentSoftmaxBwd, edgeScoreSum, segmentSum, segmentSumPerm, gatherF32]);
}

/** Names of {@link mathKernels}, for the pool's kernel table. */
export const MATH_KERNEL_NAMES = [
  'relu_fwd', 'relu_bwd', 'leaky_fwd', 'leaky_bwd', 'elu_fwd', 'elu_bwd', 'sigmoid_fwd', 'sigmoid_bwd', 'hadamard',
  'segment_softmax', 'segment_softmax_bwd', 'edge_score_sum', 'segment_sum', 'segment_sum_perm', 'gather_f32',
] as const;
