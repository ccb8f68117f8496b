/**
 * The fusion MLP: one item representation from its content modalities (text, image, …) and an optional
 * learned ID embedding, trained end to end by the ranking loss (a layer on the core's autograd {@link Tape}).
 *
 * For items R (n rows) and modalities m = 1…M with vectors c_m[i] ∈ ℝ^{d_m} and presence π_m[i] ∈ {0, 1}:
 *
 *     x_m[i] = π_m[i] · z(c_m[i]) + (1 − π_m[i]) · p_m          p_m ∈ ℝ^{d_m}: the learned "missing" vector
 *     x[i]   = x_1[i] ⊕ … ⊕ x_M[i] ⊕ π[i] ⊕ (ω[i] · e[i])        π[i] ∈ {0,1}^M: presence indicators
 *                                                                e ∈ ℝ^{N × d_id}: learned ID embedding,
 *                                                                ω[i] = 1 for items allowed one (warm items)
 *     h[i]   = dropout(act(x[i] W₁ + b₁))                        W₁ [D_in × H], act = ReLU or GELU
 *     f[i]   = h[i] W₂ + b₂                                      W₂ [H × D_out] → f [n × D_out]
 *
 * with D_in = Σ d_m + M + d_id. z() standardises a modality (column mean removed, divided by the RMS of the
 * centred present rows, both computed once from the item table), so that every modality enters on the same
 * scale whatever its encoder's norm. An item missing one modality uses that modality's placeholder p_m and a
 * 0 indicator; an item missing every modality is represented by the placeholders, the indicators and its ID
 * embedding (if any) — it always gets a finite vector, and items missing different modalities differ.
 * GELU is the usual tanh-free approximation x·σ(1.702x).
 *
 * Gradients reach W₁, b₁, W₂, b₂, every p_m (through the rows that miss m) and e (through the rows gathered).
 * x W₁ is computed as x⁰ W₁ plus the placeholders' and the ID part's blocks (see {@link FusionMlp.forward}), with
 * x⁰ a constant, so the backward pass never forms ∂x (n × D_in).
 */
import {
  Rng,
  Tape,
  Tensor,
  allocF32,
  constant,
  free,
  parameter,
} from '../../core/index.js';
import { ppError } from '../../errors.js';

/** One content modality as the fusion layer takes it: `vectors` [numItems × dim], zero rows where absent. */
export interface FusionModality {
  name: string;
  dim: number;
  vectors: Float32Array;
  present: Uint8Array;
}

export interface FusionMlpOptions {
  numItems: number;
  modalities: FusionModality[];
  /** width of the learned ID embedding (0 = none) */
  idDim?: number;
  /** [numItems] 1 where the item may use its ID embedding (default: all); others get a zero ID part */
  idAllowed?: Uint8Array;
  hidden?: number;
  out?: number;
  /** dropout on the hidden layer during training */
  dropout?: number;
  activation?: 'relu' | 'gelu';
  seed?: number;
  /** standard deviation of the ID embedding's initialisation (default 0.1) */
  idInitStd?: number;
  /** W₂ is initialised N(0, outScale²/H) (default 1; smaller starts the outputs near the scale of learned embeddings) */
  outScale?: number;
}

/** Rows per block of {@link FusionMlp.forwardAll}: bounds its temporaries (n × D_in floats) whatever the item count. */
const FORWARD_BLOCK = 8192;

export const FUSION_DEFAULTS = { hidden: 256, out: 128, dropout: 0.1, activation: 'gelu' as const, idInitStd: 0.1 };

interface ModalityState {
  name: string;
  dim: number;
  present: Uint8Array;
  /** 1 where the item lacks this modality, [numItems] (null: no item lacks it) */
  missing: Float32Array | null;
  /** the learned missing vector [1 × dim] */
  placeholder: Tensor;
  mean: Float32Array;
  scale: number;
}

/** Column mean over present rows and the RMS of the centred present rows (1 when there are none). */
export function standardisation(vectors: Float32Array, present: Uint8Array, dim: number): { mean: Float32Array; scale: number } {
  const n = present.length;
  const mean = new Float32Array(dim);
  const acc = new Float64Array(dim);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (!present[i]) continue;
    count++;
    for (let k = 0; k < dim; k++) acc[k] += vectors[i * dim + k];
  }
  if (count === 0) return { mean, scale: 1 };
  for (let k = 0; k < dim; k++) mean[k] = acc[k] / count;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    if (!present[i]) continue;
    for (let k = 0; k < dim; k++) {
      const v = vectors[i * dim + k] - mean[k];
      ss += v * v;
    }
  }
  const rms = Math.sqrt(ss / (count * dim));
  return { mean, scale: rms > 1e-12 ? 1 / rms : 1 };
}

/**
 * The fusion layer (see the module comment). Parameters live in the shared heap; call {@link dispose}.
 */
export class FusionMlp {
  readonly numItems: number;
  readonly hidden: number;
  readonly out: number;
  readonly idDim: number;
  readonly inputDim: number;
  readonly dropoutRate: number;
  readonly activation: 'relu' | 'gelu';
  private readonly mods: ModalityState[];
  /**
   * x⁰ [numItems × (Σ d_m + M)]: per modality the standardised vectors (zero rows where absent), then M
   * presence indicators. Built once: a full-table forward uses it in place, a row forward gathers from it.
   */
  private readonly x0: Float32Array;
  private readonly idAllowed: Uint8Array | null;
  readonly w1: Tensor;
  readonly b1: Tensor;
  readonly w2: Tensor;
  readonly b2: Tensor;
  readonly idEmb: Tensor | null;

  constructor(opts: FusionMlpOptions) {
    const n = (this.numItems = opts.numItems);
    this.hidden = opts.hidden ?? FUSION_DEFAULTS.hidden;
    this.out = opts.out ?? FUSION_DEFAULTS.out;
    this.idDim = opts.idDim ?? 0;
    this.dropoutRate = opts.dropout ?? FUSION_DEFAULTS.dropout;
    this.activation = opts.activation ?? FUSION_DEFAULTS.activation;
    const check = (ok: boolean, why: string) => {
      if (!ok) throw ppError('PP_EMBED_INVALID', why);
    };
    check(Number.isInteger(this.hidden) && this.hidden > 0, `hidden must be a positive integer (got ${this.hidden})`);
    check(Number.isInteger(this.out) && this.out > 0, `out must be a positive integer (got ${this.out})`);
    check(Number.isInteger(this.idDim) && this.idDim >= 0, `idDim must be a non-negative integer (got ${this.idDim})`);
    check(this.dropoutRate >= 0 && this.dropoutRate < 1, `dropout must be in [0, 1) (got ${this.dropoutRate})`);
    check(opts.modalities.length > 0 || this.idDim > 0, 'the fusion needs at least one modality or an ID embedding');
    const rng = new Rng(opts.seed ?? 1);
    const M = opts.modalities.length;
    const width = opts.modalities.reduce((s, m) => s + m.dim, 0) + M;
    this.x0 = allocF32(n * width);
    let off = 0;
    this.mods = opts.modalities.map((m, q) => {
      check(m.vectors.length === n * m.dim, `modality ${m.name}: ${m.vectors.length} values for ${n} items × ${m.dim}`);
      check(m.present.length === n, `modality ${m.name}: present has ${m.present.length} rows for ${n} items`);
      const { mean, scale } = standardisation(m.vectors, m.present, m.dim);
      let missing: Float32Array | null = null;
      for (let i = 0; i < n; i++) {
        if (!m.present[i]) {
          (missing ??= new Float32Array(n))[i] = 1;
          continue;
        }
        const at = i * width + off;
        for (let k = 0; k < m.dim; k++) this.x0[at + k] = (m.vectors[i * m.dim + k] - mean[k]) * scale;
        this.x0[i * width + width - M + q] = 1;
      }
      off += m.dim;
      // placeholders start like a standardised row
      return { name: m.name, dim: m.dim, present: m.present, missing, placeholder: parameter(rng.fillNormal(allocF32(m.dim, false), 1), [1, m.dim]), mean, scale };
    });
    if (opts.idAllowed && opts.idAllowed.length !== n) throw ppError('PP_EMBED_INVALID', `idAllowed has ${opts.idAllowed.length} rows for ${n} items`);
    this.idAllowed = this.idDim > 0 ? (opts.idAllowed ?? null) : null;
    this.inputDim = width + this.idDim;
    this.idEmb = null;
    if (this.idDim > 0) {
      const e = rng.fillNormal(allocF32(n * this.idDim, false), opts.idInitStd ?? FUSION_DEFAULTS.idInitStd);
      if (this.idAllowed) for (let i = 0; i < n; i++) if (!this.idAllowed[i]) e.fill(0, i * this.idDim, (i + 1) * this.idDim);
      this.idEmb = parameter(e, [n, this.idDim]);
    }
    // He initialisation for the hidden layer, Glorot-like for the output
    this.w1 = parameter(rng.fillNormal(allocF32(this.inputDim * this.hidden, false), Math.sqrt(2 / this.inputDim)), [this.inputDim, this.hidden]);
    this.b1 = parameter(allocF32(this.hidden), [this.hidden]);
    this.w2 = parameter(rng.fillNormal(allocF32(this.hidden * this.out, false), (opts.outScale ?? 1) / Math.sqrt(this.hidden)), [this.hidden, this.out]);
    this.b2 = parameter(allocF32(this.out), [this.out]);
  }

  /** Modality names in input order. */
  get modalityNames(): string[] {
    return this.mods.map((m) => m.name);
  }

  /** Trainable tensors by stable name (checkpoints, optimisers, tests). */
  parameters(): [string, Tensor][] {
    const out: [string, Tensor][] = this.mods.map((m) => [`fusion.missing.${m.name}`, m.placeholder]);
    if (this.idEmb) out.push(['fusion.id', this.idEmb]);
    out.push(['fusion.w1', this.w1], ['fusion.b1', this.b1], ['fusion.w2', this.w2], ['fusion.b2', this.b2]);
    return out;
  }

  /** The learned missing vector of a modality (a copy). */
  placeholder(name: string): Float32Array {
    const m = this.mods.find((x) => x.name === name);
    if (!m) throw ppError('PP_EMBED_INVALID', `no modality ${name}`);
    return m.placeholder.data.slice();
  }

  /**
   * f(rows) on `tape`: [rows.length × out] (`rows` null = every item in order). Dropout on the hidden layer
   * when `rng` is given. The result's gradient flows into the parameters.
   */
  forward(tape: Tape, rows: Int32Array | null, rng: Rng | null = null): Tensor {
    return this.output(tape, this.hiddenLayer(tape, rows, rng));
  }

  /** f = h W₂ + b₂ of a hidden layer h [n × H] on `tape`. */
  output(tape: Tape, h: Tensor): Tensor {
    return tape.addBias(tape.matmul(h, this.w2), this.b2);
  }

  /** h(rows) = dropout(act(x W₁ + b₁)) on `tape`: [rows.length × H] (`rows` null = every item). */
  hiddenLayer(tape: Tape, rows: Int32Array | null, rng: Rng | null = null): Tensor {
    const n = rows ? rows.length : this.numItems;
    const row = (r: number) => (rows ? rows[r] : r);
    const M = this.mods.length;
    // x W₁ = x⁰ W₁[content] + Σ_m (1 − π_m) ⊗ (p_m W₁[m]) + (ω·e) W₁[id]: x⁰ (standardised vectors, zero where
    // absent, and the indicators) is a constant, so the backward pass computes ∂W₁ = x⁰ᵀ δ and never ∂x⁰ (n × D_in);
    // a placeholder's gradient is (Σ_{rows missing m} δ) W₁[m]ᵀ.
    let pre: Tensor | null = null;
    if (M) {
      const width = this.contentDim;
      const table = constant(this.x0, [this.numItems, width]);
      const x = rows ? tape.gatherRows(table, rows) : table;
      const w1c = this.idEmb ? tape.gatherRows(this.w1, this.w1Rows(0, width)) : this.w1;
      pre = tape.matmul(x, w1c);
      let off = 0;
      for (const m of this.mods) {
        const miss = this.missingRows(m, rows);
        if (miss) {
          // (1 − π_m)[n × 1] · (p_m W₁[m])[1 × H]: the placeholder's contribution in the rows missing m
          const pw = tape.matmul(m.placeholder, tape.gatherRows(this.w1, this.w1Rows(off, m.dim)));
          pre = tape.add(pre, tape.matmul(constant(miss, [n, 1]), pw));
        }
        off += m.dim;
      }
    }
    if (this.idEmb) {
      let e = tape.gatherRows(this.idEmb, rows ?? Int32Array.from({ length: n }, (_, i) => i));
      if (this.idAllowed) {
        const mask = allocF32(n * this.idDim);
        for (let r = 0; r < n; r++) if (this.idAllowed[row(r)]) mask.fill(1, r * this.idDim, (r + 1) * this.idDim);
        e = tape.mul(e, this.temp(tape, mask, [n, this.idDim]));
      }
      const pe = tape.matmul(e, tape.gatherRows(this.w1, this.w1Rows(this.contentDim, this.idDim)));
      pre = pre ? tape.add(pre, pe) : pe;
    }
    let h = tape.addBias(pre!, this.b1);
    h = this.activation === 'relu' ? tape.relu(h) : tape.mul(h, tape.sigmoid(tape.scale(h, 1.702)));
    if (rng && this.dropoutRate > 0) h = tape.dropout(h, this.dropoutRate, rng, true);
    return h;
  }

  /** 1 in the rows of `rows` (null: every item) that lack modality m, [n] (null: none lacks it). */
  private missingRows(m: ModalityState, rows: Int32Array | null): Float32Array | null {
    if (!m.missing) return null;
    if (!rows) return m.missing;
    let miss: Float32Array | null = null;
    for (let r = 0; r < rows.length; r++) if (m.missing[rows[r]]) (miss ??= new Float32Array(rows.length))[r] = 1;
    return miss;
  }

  /** Input columns of the modalities and indicators (x⁰'s width): Σ d_m + M. */
  private get contentDim(): number {
    return this.inputDim - this.idDim;
  }

  /** Row indices [from, from + count) of W₁ (a block of input columns). */
  private w1Rows(from: number, count: number): Int32Array {
    return Int32Array.from({ length: count }, (_, k) => from + k);
  }

  /** f of every item without dropout, as a plain array [numItems × out] (in blocks of {@link FORWARD_BLOCK} rows). */
  forwardAll(): Float32Array {
    return this.forwardAllParts(false).out;
  }

  /**
   * f of every item without dropout [numItems × out] and, with `keepHidden`, the hidden layer h [numItems × H]
   * it came from (f = h W₂ + b₂), as plain arrays (in blocks of {@link FORWARD_BLOCK} rows).
   */
  forwardAllParts(keepHidden: boolean): { out: Float32Array; hidden: Float32Array | null } {
    const out = new Float32Array(this.numItems * this.out);
    const hidden = keepHidden ? new Float32Array(this.numItems * this.hidden) : null;
    const c = this.asConstants();
    for (let from = 0; from < this.numItems; from += FORWARD_BLOCK) {
      const rows = Int32Array.from({ length: Math.min(FORWARD_BLOCK, this.numItems - from) }, (_, k) => from + k);
      const tape = new Tape();
      try {
        const h = c.hiddenLayer(tape, rows, null);
        hidden?.set(h.data, from * this.hidden);
        out.set(c.output(tape, h).data, from * this.out);
      } finally {
        tape.dispose();
      }
    }
    return { out, hidden };
  }

  /** A view of this layer whose parameters are constants (no gradients recorded: inference). */
  private asConstants(): FusionMlp {
    const view = Object.create(FusionMlp.prototype) as FusionMlp;
    const c = (t: Tensor) => constant(t.data, t.shape);
    Object.assign(view, this, {
      mods: this.mods.map((m) => ({ ...m, placeholder: c(m.placeholder) })),
      w1: c(this.w1),
      b1: c(this.b1),
      w2: c(this.w2),
      b2: c(this.b2),
      idEmb: this.idEmb ? c(this.idEmb) : null,
    });
    return view;
  }

  /** A tensor on the tape's temporaries (freed by tape.dispose) made from a heap array we allocated. */
  private temp(tape: Tape, data: Float32Array, shape: number[]): Tensor {
    // scale(·, 1) records a tape-owned copy without gradient; the original is freed at once
    const t = tape.scale(constant(data, shape), 1);
    free(data);
    return t;
  }

  /** The standardisation of each modality (saved with a model so a reload reproduces the inputs). */
  standardisations(): { name: string; mean: Float32Array; scale: number }[] {
    return this.mods.map((m) => ({ name: m.name, mean: m.mean, scale: m.scale }));
  }

  dispose(): void {
    free(this.x0);
    for (const [, t] of this.parameters()) free(t.data);
  }
}
