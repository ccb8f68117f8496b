/**
 * Test helper (not production code): a small demo lake built in-process — demo catalog → ingest → splits —
 * with "text" embeddings from a hashed bag of words of each item's title and categories (a real, if crude,
 * text encoder: items sharing words get similar vectors; no model download, milliseconds instead of the
 * minutes USE-lite needs on a busy 2-core machine). Used by the cold-start, fold-in and ablation tests.
 */
import { join } from 'node:path';
import { silentProgress } from '../core/progress.js';
import { generateDemo } from '../data/demo/generate.js';
import { ingest } from '../data/ingest.js';
import { createSplit } from '../data/split/index.js';
import type { SplitOptions } from '../data/split/options.js';
import { writeEmbeddings } from '../embeddings/store.js';
import { openDb, sqlString } from '../lake/duckdb.js';
import { datasetPaths } from '../lake/paths.js';
import { tempDir } from '../test-support/fixtures.js';

/** FNV-1a of a string (32-bit). */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Signed feature hashing of lower-cased word tokens into `dim` buckets, unit length (zero for no tokens). */
export function hashedBagOfWords(text: string, dim: number): Float32Array {
  const v = new Float32Array(dim);
  for (const tok of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    const h = fnv(tok);
    v[h % dim] += h & 0x80000000 ? -1 : 1;
  }
  let s = 0;
  for (const x of v) s += x * x;
  if (s > 0) for (let j = 0; j < dim; j++) v[j] /= Math.sqrt(s);
  return v;
}

export interface DemoLake {
  lake: string;
  name: string;
}

/**
 * `<tmp>/lake` with dataset `demo` and the given splits, plus hashed-bag-of-words text embeddings (dim 64)
 * for every staged item except every `missingTextEvery`-th (to exercise the present mask).
 */
export async function buildDemoLake(o: {
  users?: number;
  items?: number;
  seed?: number;
  splits: Record<string, SplitOptions>;
  text?: boolean;
  missingTextEvery?: number;
}): Promise<DemoLake> {
  const root = tempDir('demo-lake');
  const src = join(root, 'src');
  const lake = join(root, 'lake');
  const name = 'demo';
  const demo = await generateDemo({ out: src, users: o.users ?? 200, items: o.items ?? 160, seed: o.seed ?? 42, images: false });
  await ingest({
    format: 'amazon2018',
    inputs: [demo.files.meta, demo.files.reviews],
    lake,
    name,
    progress: () => silentProgress,
  });
  const p = datasetPaths(lake, name);
  for (const [split, options] of Object.entries(o.splits)) {
    await createSplit({ ...options, stagingDir: p.staging, outDir: p.split(split).dir, threads: 1 });
  }
  if (o.text !== false) {
    const db = await openDb({ threads: 1 });
    let rows: { iid: number; title: string | null; categories: string[] | null }[];
    try {
      rows = await db.all(
        `SELECT m.iid, i.title, i.categories FROM read_parquet(${sqlString(p.stagingFiles.itemMap)}) m
         JOIN read_parquet(${sqlString(p.stagingFiles.items)}) i USING (item_id) ORDER BY m.iid`,
      );
    } finally {
      db.close();
    }
    const dim = 64;
    const count = Math.max(...rows.map((r) => Number(r.iid))) + 1;
    const data = new Float32Array(count * dim);
    const present = new Uint8Array(count);
    for (const r of rows) {
      const iid = Number(r.iid);
      if (o.missingTextEvery && iid % o.missingTextEvery === 0) continue;
      const v = hashedBagOfWords(`${r.title ?? ''} ${(r.categories ?? []).join(' ')}`, dim);
      data.set(v, iid * dim);
      present[iid] = v.some((x) => x !== 0) ? 1 : 0;
      if (!present[iid]) data.fill(0, iid * dim, iid * dim + dim);
    }
    await writeEmbeddings(datasetPaths(lake, name).embeddings, 'text', {
      data,
      dim,
      present,
      modality: 'text',
      encoder: 'hashed-bag-of-words (test)',
      encoder_id: 'hashed-bow-64',
      normalised: true,
      seconds: 0,
      items_per_s: 0,
    });
  }
  return { lake, name };
}
