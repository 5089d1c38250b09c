"""PyTorch peer of the multitask-speed benchmark: the same MMoE (experts, gates, towers), batch, optimizer and threads
as MLNetRank's TorchSharp trainer; prints one JSON line with training samples/s per epoch.
Run with Debian's python3-torch: /usr/bin/python3 mmoe_peer.py ROWS DENSE EXPERTS HIDDEN1,HIDDEN2 TOWER BATCH EPOCHS THREADS"""
import json
import sys
import time

import torch
from torch import nn


class Mlp(nn.Module):
    def __init__(self, n, hidden):
        super().__init__()
        layers = []
        for h in hidden:
            layers += [nn.Linear(n, h), nn.ReLU()]
            n = h
        self.net = nn.Sequential(*layers)
        self.out = n

    def forward(self, x):
        return self.net(x)


class MMoE(nn.Module):
    def __init__(self, n, tasks, experts, hidden, tower):
        super().__init__()
        self.experts = nn.ModuleList([Mlp(n, hidden) for _ in range(experts)])
        self.gates = nn.ModuleList([nn.Linear(n, experts) for _ in range(tasks)])
        h = self.experts[0].out
        self.towers = nn.ModuleList([nn.Sequential(nn.Linear(h, tower), nn.ReLU(), nn.Linear(tower, 1)) for _ in range(tasks)])

    def forward(self, x):
        e = torch.stack([m(x) for m in self.experts], 1)
        outs = []
        for g, t in zip(self.gates, self.towers):
            w = torch.softmax(g(x), 1).unsqueeze(2)
            outs.append(t((e * w).sum(1)))
        return torch.cat(outs, 1)


def main():
    rows, dense, experts = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    hidden = [int(h) for h in sys.argv[4].split(",")]
    tower, batch, epochs, threads = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = torch.randn(rows, dense)
    y = (torch.rand(rows, 2) < 0.3).float()
    model = MMoE(dense, 2, experts, hidden, tower)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.BCEWithLogitsLoss()
    rates = []
    for _ in range(epochs):
        perm = torch.randperm(rows)
        start = time.perf_counter()
        for i in range(0, rows, batch):
            idx = perm[i:i + batch]
            xb, yb = x[idx], y[idx]
            loss = lossf(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        rates.append(rows / (time.perf_counter() - start))
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "samples_per_second": rates}))


if __name__ == "__main__":
    main()
