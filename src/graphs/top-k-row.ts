/**
 * One row of a top-k table kept sorted by similarity, descending: row t holds `counts[t]` ≤ k entries at
 * `sims/indices[t·k … t·k + counts[t])`, and `worst[t]` is its k-th similarity once the row is full (the bar a new
 * candidate must pass). The kNN builders' inner loops call {@link offerTopK} per candidate.
 */

/** Inserts (v, j) into row t when it beats the row's worst (ties keep the earlier entry); O(k) shifts at most. Callers in hot loops test `v > worst[t]` first, so most candidates cost no call. */
export function offerTopK(sims: Float32Array, indices: Int32Array, counts: Int32Array, worst: Float64Array, t: number, k: number, v: number, j: number): void {
  if (v <= worst[t]) return;
  const base = t * k;
  let p = counts[t] < k ? counts[t]++ : k - 1;
  while (p > 0 && sims[base + p - 1] < v) {
    sims[base + p] = sims[base + p - 1];
    indices[base + p] = indices[base + p - 1];
    p--;
  }
  sims[base + p] = v;
  indices[base + p] = j;
  if (counts[t] === k) worst[t] = sims[base + k - 1];
}
