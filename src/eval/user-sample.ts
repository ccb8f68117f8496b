/**
 * A seeded sample of the users who have items in a part of the split: the evaluation sample of a validation
 * run during training (fusion epochs, a trained model's per-epoch validation), where ranking every user each
 * time would cost more than the epoch. Final metrics are never computed on a sample.
 */
import type { PartCsr } from '../graphs/split-data.js';
import { sampleRows } from '../graphs/knn-graph.js';

/** At most `max` users having items in `part`, drawn with `seed` (null = all of them: `max` ≤ 0 or not fewer). */
export function evalUserSample(part: PartCsr, numUsers: number, max: number, seed: number): Int32Array | null {
  if (!(max > 0)) return null;
  const present = new Uint8Array(numUsers);
  let count = 0;
  for (let u = 0; u < numUsers; u++) if (part.indptr[u + 1] > part.indptr[u]) count += present[u] = 1;
  return count <= max ? null : sampleRows(numUsers, max, { seed, present });
}
