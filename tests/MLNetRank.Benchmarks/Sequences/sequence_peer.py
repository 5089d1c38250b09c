"""PyTorch peer of the sequence-speed benchmark: the network MLNetRank trains with TransformerPooling (V4), written as a
PyTorch user would write it: standardized dense inputs, id embeddings (one item table shared by the room's items on sale,
its core items and the user's clicked items; one room table shared by the room id and the watched-room sequence), mean
pooling of the room's items and the watched rooms, the live-stream transformer over [summary, core items, items on sale]
+ the user's clicked items (fused Q/K/V projection, batched scaled dot-product attention with an additive mask, pre-norm,
user tokens attend to user tokens only, summary-only last layer), then MMoE (4 experts [64, 32], 2 gates, towers [16]).
Same batch, Adam, threads; prints one JSON line with the parameter count and samples/s per epoch.
  /usr/bin/python3 sequence_peer.py ROWS BATCH EPOCHS THREADS D ITEMS ROOMS L
"""
import json
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F

BIG = 1e9


class Block(nn.Module):
    def __init__(self, d, ff):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.ff1, self.ff2 = nn.Linear(d, ff), nn.Linear(ff, d)

    def ffn(self, x):
        return x + self.ff2(F.relu(self.ff1(self.ln2(x))))


class LiveTransformer(nn.Module):
    def __init__(self, d, heads, layers, segments, positions):
        super().__init__()
        self.d, self.h, self.segments = d, heads, segments
        self.type_emb = nn.Embedding(segments + 2, d)
        self.pos = nn.Embedding(positions, d)
        self.summary = nn.Parameter(torch.zeros(d))
        self.blocks = nn.ModuleList([Block(d, 4 * d) for _ in range(layers)])
        self.norm = nn.LayerNorm(d)
        self.scale = (d // heads) ** -0.5

    def heads(self, x):
        n, t, _ = x.shape
        return x.view(n, t, self.h, self.d // self.h).transpose(1, 2)

    def merge(self, x):
        n, _, t, _ = x.shape
        return x.transpose(1, 2).reshape(n, t, self.d)

    def positions(self, m):
        after = m.flip(1).cumsum(1).flip(1) - m
        return self.pos(after.clamp(max=self.pos.num_embeddings - 1).long())

    def forward(self, u, um, segs, segms):
        b = segs[0].shape[0]
        u = u + self.type_emb.weight[self.segments] + self.positions(um)
        bias_u = ((um - 1) * BIG)[:, None, None, :]
        x = torch.cat([(self.summary + self.type_emb.weight[self.segments + 1]).expand(b, 1, self.d)]
                      + [s + self.type_emb.weight[i] + self.positions(m) for i, (s, m) in enumerate(zip(segs, segms))], 1)
        bias_r = ((torch.cat([torch.ones(b, 1)] + segms, 1) - 1) * BIG)[:, None, None, :]
        for i, blk in enumerate(self.blocks):
            last = i == len(self.blocks) - 1
            qu, ku, vu = (self.heads(t) for t in blk.qkv(blk.ln1(u)).chunk(3, -1))
            qx, kx, vx = (self.heads(t) for t in blk.qkv(blk.ln1(x)).chunk(3, -1))
            if last:
                qx = qx[:, :, :1]
            s = torch.cat([qx @ kx.transpose(-2, -1) * self.scale + bias_r, qx @ ku.transpose(-2, -1) * self.scale + bias_u], -1)
            p = s.softmax(-1)
            lr = kx.shape[2]
            a = p[..., :lr] @ vx + p[..., lr:] @ vu
            x = blk.ffn((x[:, :1] if last else x) + blk.proj(self.merge(a)))
            if not last:
                pu = (qu @ ku.transpose(-2, -1) * self.scale + bias_u).softmax(-1)
                u = blk.ffn(u + blk.proj(self.merge(pu @ vu)))
        return self.norm(x).squeeze(1)


def mean_pool(e, m):
    return (e * m.unsqueeze(2)).sum(1) / m.sum(1, keepdim=True).clamp(min=1)


class Net(nn.Module):
    def __init__(self, dense, d, items, rooms, L):
        super().__init__()
        self.register_buffer("mean", torch.zeros(dense))
        self.register_buffer("invstd", torch.ones(dense))
        self.item = nn.Embedding(items, d)
        self.room = nn.Embedding(rooms, d)
        for t in (self.item, self.room):
            nn.init.normal_(t.weight, 0, 0.05)
        self.tf = LiveTransformer(d, 4, 2, 2, max(L, 8, 5))
        n = dense + 5 * d
        self.experts = nn.ModuleList([nn.Sequential(nn.Linear(n, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU()) for _ in range(4)])
        self.gates = nn.ModuleList([nn.Linear(n, 4) for _ in range(2)])
        self.towers = nn.ModuleList([nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1)) for _ in range(2)])

    def forward(self, dense, room, sale, core, items, rooms_seq):
        m = lambda ids: (ids > 0).float()
        es, ec, ei, er = self.item(sale), self.item(core), self.item(items), self.room(rooms_seq)
        ms, mc, mi, mr = m(sale), m(core), m(items), m(rooms_seq)
        x = torch.cat([(dense - self.mean) * self.invstd, self.room(room).flatten(1), mean_pool(es, ms), mean_pool(ec, mc),
                       self.tf(ei, mi, [ec, es], [mc, ms]), mean_pool(er, mr)], 1)
        e = torch.stack([ex(x) for ex in self.experts], 1)
        return torch.cat([t((torch.softmax(g(x), 1).unsqueeze(2) * e).sum(1)) for g, t in zip(self.gates, self.towers)], 1)


def main():
    rows, batch, epochs, threads, d, items, rooms, L = (int(a) for a in sys.argv[1:9])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    g = torch.Generator().manual_seed(2)

    def ids(n, length, high, min_len):
        t = torch.randint(1, high, (n, length), generator=g)
        lens = torch.randint(min_len, length + 1, (n, 1), generator=g)
        return t * (torch.arange(length)[None, :] < lens)

    data = [torch.randn(rows, 25, generator=g), torch.randint(1, rooms, (rows, 1), generator=g), ids(rows, 8, items, 4),
            ids(rows, 5, items, 5), ids(rows, L, items, 2), ids(rows, 10, rooms, 1)]
    labels = (torch.rand(rows, 2, generator=g) < 0.1).float()
    net = Net(25, d, items, rooms, L)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    rates = []
    for _ in range(epochs):
        perm = torch.randperm(rows, generator=g)
        start = time.perf_counter()
        for i in range(0, rows, batch):
            idx = perm[i:i + batch]
            logits = net(*(t[idx] for t in data))
            loss = F.binary_cross_entropy_with_logits(logits, labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        rates.append(rows / (time.perf_counter() - start))
    print(json.dumps({"parameters": sum(p.numel() for p in net.parameters()), "samples_per_second": rates, "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
