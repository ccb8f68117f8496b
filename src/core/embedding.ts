/**
 * Row gathers and scatter-adds for embedding lookups.
 *
 * | op | formula | shapes |
 * |---|---|---|
 * | {@link gatherRows} | out[r,:] = T[idx[r], :] | T [N, d], idx [b] → [b, d] |
 * | {@link scatterAddRows} | T[idx[r], :] += src[r, :] (duplicates accumulate, in order r = 0..b−1) | src [b, d] → T [N, d] |
 * | {@link coalesceRows} | sums the rows of (idx, src) with equal index → sorted unique rows | for lazy (row-wise) optimiser updates |
 *
 * Serial and in index order, hence deterministic (a batch touches few rows: no need for threads).
 */
import { allocF32, allocI32 } from './heap.js';

function checkIdx(idx: ArrayLike<number>, n: number): void {
  for (let r = 0; r < idx.length; r++) {
    const i = idx[r];
    if (!(i >= 0 && i < n && Number.isInteger(i))) throw new RangeError(`row index ${i} at ${r} out of range [0, ${n})`);
  }
}

/** out[r,:] = table[idx[r], :]. */
export function gatherRows(table: Float32Array, idx: ArrayLike<number>, d: number, out?: Float32Array): Float32Array {
  if (table.length % d !== 0) throw new Error('gatherRows: table length is not a multiple of d');
  checkIdx(idx, table.length / d);
  const o = out ?? allocF32(idx.length * d, false);
  if (o.length !== idx.length * d) throw new Error('gatherRows: out has the wrong length');
  for (let r = 0; r < idx.length; r++) {
    const s = idx[r] * d;
    o.set(table.subarray(s, s + d), r * d);
  }
  return o;
}

/** table[idx[r], :] += alpha · src[r, :] for r = 0..b−1 (in place). */
export function scatterAddRows(table: Float32Array, idx: ArrayLike<number>, src: Float32Array, d: number, alpha = 1): Float32Array {
  if (src.length !== idx.length * d) throw new Error('scatterAddRows: src must be [idx.length × d]');
  checkIdx(idx, table.length / d);
  for (let r = 0; r < idx.length; r++) {
    const t = idx[r] * d;
    const s = r * d;
    if (alpha === 1) for (let k = 0; k < d; k++) table[t + k] += src[s + k];
    else for (let k = 0; k < d; k++) table[t + k] += alpha * src[s + k];
  }
  return table;
}

/** Rows of a row-sparse gradient: `rows` sorted and unique, `values` [rows.length × d]. */
export interface RowSparse {
  rows: Int32Array;
  values: Float32Array;
}

/**
 * Coalesces (idx[r], src[r,:]) pairs — possibly from several lookups — into unique sorted rows,
 * summing duplicates in input order.
 */
export function coalesceRows(parts: { idx: ArrayLike<number>; values: Float32Array }[], d: number): RowSparse {
  let total = 0;
  for (const p of parts) total += p.idx.length;
  const keys = new Int32Array(total);
  let t = 0;
  for (const p of parts) for (let r = 0; r < p.idx.length; r++) keys[t++] = p.idx[r];
  const uniq = Int32Array.from(new Set(keys)).sort();
  const pos = new Map<number, number>();
  uniq.forEach((row, i) => pos.set(row, i));
  const rows = allocI32(uniq.length, false);
  rows.set(uniq);
  const values = allocF32(uniq.length * d);
  for (const p of parts) {
    if (p.values.length !== p.idx.length * d) throw new Error('coalesceRows: values must be [idx.length × d]');
    for (let r = 0; r < p.idx.length; r++) {
      const o = pos.get(p.idx[r])! * d;
      const s = r * d;
      for (let k = 0; k < d; k++) values[o + k] += p.values[s + k];
    }
  }
  return { rows, values };
}
