/**
 * The check a serving bundle passes before it is served (startup and every reload, context.ts): a bundle that
 * opens but cannot answer — ids out of range, arrays of other sizes, non-finite vectors, files changed after the
 * build — is refused with PP_SERVE_BUNDLE (reload: 409, the old bundle keeps serving) instead of failing every
 * request that meets the bad part. Beyond what openServingBundle checks (file sizes against the manifest
 * counts, ANN index size and dimensions):
 *
 *   files        size + sha256 of every file the manifest lists (bundle-checksums.ts; bundles built before the
 *                checksums were recorded skip this)
 *   ids          user/item ids are strings, item ids unique
 *   history      indptr non-decreasing from 0 to the edge count; item ids in [0, numItems)
 *   item graph   the same for its CSR; weights finite
 *   similar      every table id in [−1, numItems) (−1 = no more neighbours), its score finite
 *   vectors      users/items/content vectors finite; presence flags 0/1
 *
 * Cost: one pass over each array and one sha256 pass over the files (about a second per GB).
 */
import { ppError } from '../errors.js';
import { verifyChecksums } from '../index/bundle-checksums.js';
import type { ServingBundle } from '../index/serving-bundle.js';
import type { SimilarTables } from '../index/similar-table.js';

function fail(dir: string, what: string): never {
  throw ppError('PP_SERVE_BUNDLE', `${dir}: ${what}`);
}

function checkCsr(dir: string, name: string, indptr: Int32Array, indices: Int32Array, rows: number, cols: number): void {
  if (indptr.length !== rows + 1) fail(dir, `${name} has ${indptr.length - 1} rows, expected ${rows}`);
  if (indptr[0] !== 0 || indptr[rows] !== indices.length) fail(dir, `${name} row pointers do not run from 0 to ${indices.length}`);
  for (let r = 0; r < rows; r++) if (indptr[r + 1] < indptr[r]) fail(dir, `${name} row pointers decrease at row ${r}`);
  for (let e = 0; e < indices.length; e++) {
    const v = indices[e];
    if (v < 0 || v >= cols) fail(dir, `${name} entry ${e} names item ${v}, outside [0, ${cols})`);
  }
}

function checkFinite(dir: string, name: string, a: Float32Array): void {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) fail(dir, `${name} value ${i} is ${a[i]}`);
}

/** Throws PP_SERVE_BUNDLE when `bundle` (with its similar tables) cannot be served as it is. */
export async function checkServableBundle(bundle: ServingBundle, similar: SimilarTables): Promise<void> {
  const { dir, manifest } = bundle;
  if (manifest.files) await verifyChecksums(dir, manifest.files);
  const nU = manifest.num_users;
  const nI = manifest.num_items;
  if (!bundle.userIds.every((id) => typeof id === 'string')) fail(dir, 'user_ids.json holds a non-string id');
  if (!bundle.itemIds.every((id) => typeof id === 'string')) fail(dir, 'item_ids.json holds a non-string id');
  if (new Set(bundle.itemIds).size !== nI) fail(dir, 'item_ids.json repeats an id');
  checkCsr(dir, 'history', bundle.history.indptr, bundle.history.indices, nU, nI);
  if (bundle.itemGraph) {
    checkCsr(dir, 'item graph', bundle.itemGraph.indptr, bundle.itemGraph.indices, nI, nI);
    checkFinite(dir, 'itemgraph.weights.f32', bundle.itemGraph.weights);
  }
  checkFinite(dir, 'users.f32', bundle.users);
  checkFinite(dir, 'items.f32', bundle.items);
  for (const [m, c] of Object.entries(bundle.content)) {
    if (!c) continue;
    checkFinite(dir, `content-${m}.f32`, c.vectors);
    for (let i = 0; i < c.present.length; i++) if (c.present[i] > 1) fail(dir, `content-${m}.present row ${i} is ${c.present[i]}`);
  }
  for (const [m, t] of Object.entries(similar)) {
    if (!t) continue;
    if (!Number.isInteger(t.k) || t.k < 1 || t.ids.length !== nI * t.k || t.scores.length !== nI * t.k) fail(dir, `similar-${m} is not ${nI} × ${t.k}`);
    for (let j = 0; j < t.ids.length; j++) {
      const v = t.ids[j];
      if (v < -1 || v >= nI) fail(dir, `similar-${m}.i32 entry ${j} names item ${v}, outside [0, ${nI})`);
      if (v >= 0 && !Number.isFinite(t.scores[j])) fail(dir, `similar-${m}.f32 entry ${j} is ${t.scores[j]}`);
    }
  }
}
