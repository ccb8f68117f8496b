/**
 * Pins the numbers of the graph models: each configuration below is fitted for 2 epochs (same seed) on the
 * synthetic multimodal split, and the SHA-256 of its final embeddings and of its scores for every user is
 * compared with `fingerprint.golden.json`, recorded before the models moved onto src/models/propagation/.
 * A refactor that changes any bit of any of these fails here. To re-record after an intended change:
 * PLOTPOINTE_WRITE_GOLDEN=1 node scripts/test.mjs src/models/propagation/fingerprint.test.ts (and say why
 * in the commit).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { shutdownPool } from '../../core/index.js';
import { getModel } from '../index.js';
import type { ContentSource, Params, Recommender } from '../model.js';
import { fitContext } from '../bpr-models.testkit.js';
import { syntheticMultimodal } from '../multimodal.testkit.js';

after(async () => {
  await shutdownPool();
});

const GOLDEN = new URL('./fingerprint.golden.json', import.meta.url);

const gatBase: Params = { dim: 8, batch: 256, epochs: 2, eval_every: 2, patience: 10 };
const mmBase: Params = { dim: 8, hidden: 16, batch: 256, epochs: 2, eval_every: 2, patience: 10 };
const lgBase: Params = { dim: 8, batch: 128, lr: 0.01, epochs: 2, eval_every: 2, patience: 10 };

/** label → [model, params, with content] */
const CONFIGS: Record<string, [string, Params, boolean]> = {
  'gat additive': ['gat', { ...gatBase }, false],
  'gat dot': ['gat', { ...gatBase, attention: 'dot', negatives: 'uniform' }, false],
  'gat none': ['gat', { ...gatBase, attention: 'none' }, false],
  'gat softmax self-loops 3 heads': ['gat', { ...gatBase, norm: 'softmax', self_loops: true, heads: 3 }, false],
  'gat linear concat-proj elu': ['gat', { ...gatBase, transform: 'linear', head_merge: 'concat', readout: 'concat-proj', activation: 'elu', heads: 2 }, false],
  'gat rating logit': ['gat', { ...gatBase, rating_weighted: 'logit', negatives: 'popularity' }, false],
  'gat rating message, reg 0': ['gat', { ...gatBase, rating_weighted: 'message', reg: 0 }, false],
  'mmgat text + item edges, additive': ['mmgat', { ...mmBase, features: 'text' }, true],
  'mmgat fused + item edges, none': ['mmgat', { ...mmBase, attention: 'none' }, true],
  'mmgat ids + item edges, hard, concat': ['mmgat', { ...mmBase, features: 'none', negatives: 'hard', readout: 'concat' }, true],
  'mmgat text, no item edges, ratings off': ['mmgat', { ...mmBase, features: 'text', item_edges: false, rating_weighted: false }, true],
  lightgcn: ['lightgcn', { ...lgBase }, false],
  'lightgcn rating weighted, hard': ['lightgcn', { ...lgBase, rating_weighted: true, negatives: 'hard' }, false],
  'lightgcn whole table': ['lightgcn', { ...lgBase, batch: 4096, layers: 2 }, false],
  mf: ['mf', { ...lgBase }, false],
};

function sha(...arrays: Float32Array[]): string {
  const h = createHash('sha256');
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex').slice(0, 24);
}

async function fingerprint(name: string, params: Params, withContent: boolean): Promise<{ embeddings: string; scores: string; sum: number }> {
  const s = syntheticMultimodal({ seed: 4, users: 40, items: 48, cold: 8, ratings: true });
  const ctx = { ...fitContext(s.data, params, { seed: 5 }), content: withContent ? (s.content as ContentSource) : undefined };
  const model: Recommender = await getModel(name).fit(ctx);
  try {
    const e = model.embeddings!()!;
    const users = Int32Array.from({ length: s.data.numUsers }, (_, u) => u);
    const out = new Float32Array(users.length * s.data.numItems);
    await model.scoreUsers(users, out);
    let sum = 0;
    for (const v of out) sum += v;
    return { embeddings: sha(e.users, e.items), scores: sha(out), sum: Number(sum.toPrecision(9)) };
  } finally {
    model.dispose?.();
  }
}

test('the graph models give bit-identical embeddings and scores to the recorded ones (2 epochs, fixed seeds)', async () => {
  const got: Record<string, unknown> = {};
  for (const [label, [name, params, content]] of Object.entries(CONFIGS)) got[label] = await fingerprint(name, params, content);
  if (process.env.PLOTPOINTE_WRITE_GOLDEN === '1' || !existsSync(GOLDEN)) {
    writeFileSync(GOLDEN, JSON.stringify(got, null, 1) + '\n');
    if (process.env.PLOTPOINTE_WRITE_GOLDEN !== '1') assert.fail('fingerprint.golden.json was missing: written now, re-run to compare');
    return;
  }
  const want = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<string, unknown>;
  const changed = Object.keys(CONFIGS).filter((k) => JSON.stringify(got[k]) !== JSON.stringify(want[k]));
  assert.deepEqual(changed, [], `changed: ${changed.map((k) => `${k}: ${JSON.stringify(want[k])} → ${JSON.stringify(got[k])}`).join('; ')}`);
});
