/**
 * Random-but-clustered, L2-normalised float32 vectors for tests and benchmarks of the kNN graphs.
 *
 * Row i = normalise(c(i) + spread · (B(i)·z + iso · ε)): c(i) one of `clusters` random unit centres,
 * B(i) a random orthonormal-ish basis of `intrinsicDim` directions owned by the cluster, z ~ N(0, I)
 * in that subspace, ε ~ N(0, I/d) isotropic noise. Real item embeddings (text/image encoders) have a low
 * intrinsic dimension; `intrinsicDim = d, iso = 0` gives the hard isotropic case.
 */

/** A small, fast deterministic PRNG (mulberry32) with Box–Muller normals. */
export class SplitMix {
  #s: number;
  #spare: number | undefined;
  constructor(seed: number) {
    this.#s = seed >>> 0;
  }
  /** uniform in [0, 1) */
  next(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  normal(): number {
    if (this.#spare !== undefined) {
      const s = this.#spare;
      this.#spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

export interface ClusteredOptions {
  /** number of clusters (default max(1, n / 250)) */
  clusters?: number;
  /** distance of members from their centre, relative to the unit centre (default 0.5) */
  spread?: number;
  /** directions of variation per cluster (default min(d, 16)) */
  intrinsicDim?: number;
  /** isotropic noise share (default 0.1) */
  iso?: number;
  seed?: number;
}

/** n × d row-major, each row of unit length; also returns the cluster of each row. */
export function clusteredVectors(n: number, d: number, opts: ClusteredOptions = {}): { vectors: Float32Array; cluster: Int32Array } {
  const rng = new SplitMix(opts.seed ?? 1);
  const C = Math.max(1, Math.min(n, opts.clusters ?? Math.max(1, Math.round(n / 250))));
  const spread = opts.spread ?? 0.5;
  const r = Math.max(1, Math.min(d, opts.intrinsicDim ?? Math.min(d, 16)));
  const iso = opts.iso ?? 0.1;
  const centres = new Float32Array(C * d);
  const bases = new Float32Array(C * r * d);
  for (let c = 0; c < C; c++) {
    let norm = 0;
    for (let j = 0; j < d; j++) {
      const x = rng.normal();
      centres[c * d + j] = x;
      norm += x * x;
    }
    norm = Math.sqrt(norm);
    for (let j = 0; j < d; j++) centres[c * d + j] /= norm;
    // random directions scaled so that ‖B z‖² ≈ 1 on average (random Gaussian vectors are near-orthogonal)
    const scale = 1 / Math.sqrt(r * d);
    for (let t = 0; t < r * d; t++) bases[c * r * d + t] = rng.normal() * scale;
  }
  const vectors = new Float32Array(n * d);
  const cluster = new Int32Array(n);
  const z = new Float64Array(r);
  const row = new Float64Array(d);
  const isoScale = iso / Math.sqrt(d);
  for (let i = 0; i < n; i++) {
    const c = rng.int(C);
    cluster[i] = c;
    for (let t = 0; t < r; t++) z[t] = rng.normal();
    for (let j = 0; j < d; j++) row[j] = centres[c * d + j] + spread * isoScale * rng.normal();
    const b = c * r * d;
    for (let t = 0; t < r; t++) {
      const zt = spread * z[t];
      const o = b + t * d;
      for (let j = 0; j < d; j++) row[j] += zt * bases[o + j];
    }
    let norm = 0;
    for (let j = 0; j < d; j++) norm += row[j] * row[j];
    norm = Math.sqrt(norm) || 1;
    for (let j = 0; j < d; j++) vectors[i * d + j] = row[j] / norm;
  }
  return { vectors, cluster };
}
