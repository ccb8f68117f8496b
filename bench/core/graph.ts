/**
 * The benchmark graph: Gowalla's training interactions (LightGCN's `train.txt`: one line per user,
 * `user item item ...`) if /work/shared/datasets/gowalla/train.txt (or $GOWALLA_TRAIN) exists,
 * otherwise a random bipartite graph of the same size (29,858 users, 40,981 items, 810,128
 * interactions, skewed item popularity).
 */
import { existsSync, readFileSync } from 'node:fs';
import { bipartiteNormalizedAdjacency, type Csr } from '../../src/core/csr.js';
import { Rng } from '../../src/core/random.js';

export interface BenchGraph {
  source: string;
  nUsers: number;
  nItems: number;
  users: Int32Array;
  items: Int32Array;
  adj: Csr;
}

const DEFAULT_PATH = '/work/shared/datasets/gowalla/train.txt';

export function loadBenchGraph(): BenchGraph {
  const path = process.env.GOWALLA_TRAIN ?? DEFAULT_PATH;
  let users: number[] = [];
  let items: number[] = [];
  let nUsers = 29858;
  let nItems = 40981;
  let source: string;
  if (existsSync(path)) {
    source = path;
    let maxU = -1;
    let maxI = -1;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const parts = line.trim().split(/\s+/);
      if (parts.length < 2) continue;
      const u = Number(parts[0]);
      maxU = Math.max(maxU, u);
      for (let k = 1; k < parts.length; k++) {
        const i = Number(parts[k]);
        maxI = Math.max(maxI, i);
        users.push(u);
        items.push(i);
      }
    }
    nUsers = maxU + 1;
    nItems = maxI + 1;
  } else {
    source = 'random bipartite graph (Gowalla-sized)';
    const rng = new Rng(7);
    const m = 810128;
    users = new Array(m);
    items = new Array(m);
    for (let e = 0; e < m; e++) {
      users[e] = Math.floor(rng.next() * nUsers);
      // popularity skew: square of a uniform
      const x = rng.next();
      items[e] = Math.floor(x * x * nItems);
    }
  }
  const u = Int32Array.from(users);
  const it = Int32Array.from(items);
  return { source, nUsers, nItems, users: u, items: it, adj: bipartiteNormalizedAdjacency(nUsers, nItems, u, it) };
}
