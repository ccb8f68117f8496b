"""PyTorch reference for bench/core/spmm.bench.ts: one LightGCN BPR step on the same graph.

Batch 2048, 64-d, 3 layers: propagate all embeddings through 3 sparse products, layer mean,
gather users/pos/neg, BPR + L2 (on the batch's ego embeddings), backward, Adam. Prints one JSON
line: {"torch": version, "threads": n, "step_s": median seconds, "spmm_s": median seconds per
sparse product, ...}.

Usage: python3 lightgcn_step_torch.py [train.txt] [threads]  (random Gowalla-sized graph if the file is missing)
"""
import json
import os
import sys
import time

import numpy as np
import torch


def load(path):
    users, items = [], []
    if path and os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 2:
                    continue
                u = int(parts[0])
                for it in parts[1:]:
                    users.append(u)
                    items.append(int(it))
        users = np.array(users, dtype=np.int64)
        items = np.array(items, dtype=np.int64)
        return users, items, int(users.max()) + 1, int(items.max()) + 1, path
    rng = np.random.default_rng(7)
    n_users, n_items, m = 29858, 40981, 810128
    users = rng.integers(0, n_users, m)
    items = (rng.random(m) ** 2 * n_items).astype(np.int64)
    return users, items, n_users, n_items, "random"


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/datasets/gowalla/train.txt"
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    users, items, nu, ni, source = load(path)
    pairs = np.unique(np.stack([users, items], 1), axis=0)
    users, items = pairs[:, 0], pairs[:, 1]
    n = nu + ni
    row = np.concatenate([users, items + nu])
    col = np.concatenate([items + nu, users])
    deg = np.bincount(row, minlength=n).astype(np.float64)
    val = (1.0 / np.sqrt(deg[row] * deg[col])).astype(np.float32)
    adj = torch.sparse_coo_tensor(torch.from_numpy(np.stack([row, col])), torch.from_numpy(val), (n, n)).coalesce()
    # LightGCN reference code uses a COO sparse tensor with torch.sparse.mm
    emb = torch.nn.Parameter(torch.empty(n, 64).normal_(0, 0.1))
    opt = torch.optim.Adam([emb], lr=1e-3)
    rng = np.random.default_rng(1)
    batch = 2048

    def step():
        u = torch.from_numpy(rng.integers(0, nu, batch))
        p = torch.from_numpy(rng.integers(0, ni, batch) + nu)
        q = torch.from_numpy(rng.integers(0, ni, batch) + nu)
        layers = [emb]
        x = emb
        for _ in range(3):
            x = torch.sparse.mm(adj, x)
            layers.append(x)
        final = torch.stack(layers, 1).mean(1)
        eu, ep, eq = final[u], final[p], final[q]
        loss = torch.nn.functional.softplus(-((eu * ep).sum(1) - (eu * eq).sum(1))).mean()
        reg = 0.5 * (emb[u].norm(2).pow(2) + emb[p].norm(2).pow(2) + emb[q].norm(2).pow(2)) / batch
        loss = loss + 1e-4 * reg
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(2):
        step()
    times = []
    for _ in range(int(os.environ.get("STEPS", "7"))):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    x = torch.randn(n, 64)
    sp = []
    for _ in range(7):
        t = time.perf_counter()
        torch.sparse.mm(adj, x)
        sp.append(time.perf_counter() - t)
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "source": source,
        "nodes": n,
        "nnz": int(adj._nnz()),
        "step_s": float(np.median(times)),
        "step_min_s": float(np.min(times)),
        "spmm_s": float(np.median(sp)),
    }))


if __name__ == "__main__":
    main()
