"""PyTorch peer of the multitask-speed benchmark: the same MMoE as MLNetRank's TorchSharp trainer (standardized dense
inputs and id embeddings concatenated, experts, one softmax gate and one tower per task), same batch, optimizer (Adam,
lr 1e-3) and threads; prints one JSON line with the parameter count and training samples/s per epoch.
Run with Debian's python3-torch:
  /usr/bin/python3 mmoe_peer.py ROWS DENSE EXPERTS HIDDEN1,HIDDEN2 TOWER BATCH EPOCHS THREADS [TABLES] [MODE]
TABLES: embedding tables as ROWSxDIM,ROWSxDIM,... (one id column each; ids drawn in 1..ROWS-1), or "-" / absent.
MODE: "fused" (default; what an expert writes: the experts' first layers as one Linear(n, experts*hidden1), later
expert layers as one batched product (baddbmm) over [experts, hidden_in, hidden_out] weights, the gates as one
Linear(n, tasks*experts), the mixture as one bmm) or "unfused" (one Linear per expert layer and per gate, a direct
port of the per-expert loop). Both have exactly the same parameters and the same function."""
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
    def __init__(self, dense, tables, tasks, experts, hidden, tower):
        super().__init__()
        # standardization statistics are buffers, as in MLNetRank's encoder (not trained)
        self.register_buffer("dense_mean", torch.zeros(dense))
        self.register_buffer("dense_invstd", torch.ones(dense))
        self.tables = nn.ModuleList([nn.Embedding(rows, dim) for rows, dim in tables])
        for t in self.tables:
            nn.init.normal_(t.weight, 0, 0.05)
        n = dense + sum(dim for _, dim in tables)
        self.experts = nn.ModuleList([Mlp(n, hidden) for _ in range(experts)])
        self.gates = nn.ModuleList([nn.Linear(n, experts) for _ in range(tasks)])
        h = self.experts[0].out
        self.towers = nn.ModuleList([nn.Sequential(nn.Linear(h, tower), nn.ReLU(), nn.Linear(tower, 1)) for _ in range(tasks)])

    def forward(self, dense, ids):
        parts = [(dense - self.dense_mean) * self.dense_invstd]
        parts += [t(ids[:, i:i + 1]).flatten(1) for i, t in enumerate(self.tables)]
        x = torch.cat(parts, 1) if len(parts) > 1 else parts[0]
        e = torch.stack([m(x) for m in self.experts], 1)
        outs = []
        for g, t in zip(self.gates, self.towers):
            w = torch.softmax(g(x), 1).unsqueeze(2)
            outs.append(t((e * w).sum(1)))
        return torch.cat(outs, 1)


class FusedMMoE(nn.Module):
    def __init__(self, dense, tables, tasks, experts, hidden, tower):
        super().__init__()
        self.register_buffer("dense_mean", torch.zeros(dense))
        self.register_buffer("dense_invstd", torch.ones(dense))
        self.tables = nn.ModuleList([nn.Embedding(rows, dim) for rows, dim in tables])
        for t in self.tables:
            nn.init.normal_(t.weight, 0, 0.05)
        n = dense + sum(dim for _, dim in tables)
        self.experts, self.tasks, self.h1 = experts, tasks, hidden[0]
        self.first = nn.Linear(n, experts * hidden[0])  # all experts' first layers in one product
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for a, b in zip(hidden, hidden[1:]):
            bound = 1.0 / a ** 0.5  # nn.Linear's default init, per expert
            self.weights.append(nn.Parameter(torch.empty(experts, a, b).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(experts, 1, b).uniform_(-bound, bound)))
        self.gates = nn.Linear(n, tasks * experts)  # all gates in one product
        h = hidden[-1]
        self.towers = nn.ModuleList([nn.Sequential(nn.Linear(h, tower), nn.ReLU(), nn.Linear(tower, 1)) for _ in range(tasks)])

    def forward(self, dense, ids):
        parts = [(dense - self.dense_mean) * self.dense_invstd]
        parts += [t(ids[:, i:i + 1]).flatten(1) for i, t in enumerate(self.tables)]
        x = torch.cat(parts, 1) if len(parts) > 1 else parts[0]
        b = x.shape[0]
        h = torch.relu(self.first(x)).view(b, self.experts, self.h1).transpose(0, 1)  # [experts, batch, h1]
        for w, bias in zip(self.weights, self.biases):
            h = torch.relu(torch.baddbmm(bias, h, w))                                   # [experts, batch, h]
        g = torch.softmax(self.gates(x).view(b, self.tasks, self.experts), 2)         # [batch, tasks, experts]
        mixed = torch.bmm(g, h.transpose(0, 1))                                       # [batch, tasks, h]
        return torch.cat([t(mixed[:, i]) for i, t in enumerate(self.towers)], 1)


def blas_library():
    """The BLAS shared library loaded into this process (Debian's torch uses whatever libblas.so.3 points to: OpenBLAS when
    libopenblas0 is installed, else the slow reference BLAS)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(libs)) or "?"
    except OSError:
        return "?"


def _openblas():
    """The OpenBLAS library loaded into this process (ctypes), or None."""
    try:
        import ctypes
        with open("/proc/self/maps") as f:
            return ctypes.CDLL(next(line.split()[-1] for line in f if "libopenblas" in line))
    except (OSError, StopIteration):
        return None


def blas_core():
    """OpenBLAS's kernel (DYNAMIC_ARCH picks it from the CPU unless OPENBLAS_CORETYPE forces one)."""
    lib = _openblas()
    try:
        import ctypes
        fn = lib.openblas_get_corename
        fn.restype = ctypes.c_char_p
        return fn().decode()
    except AttributeError:
        return "?"


def blas_threads():
    """Threads of OpenBLAS's own pool (torch.set_num_threads does not set it in Debian's build; the bench sets
    OPENBLAS_NUM_THREADS and OMP_NUM_THREADS for this process)."""
    try:
        return _openblas().openblas_get_num_threads()
    except AttributeError:
        return -1


def blas_config():
    """The BLAS PyTorch was built against, from its build configuration (e.g. BLAS_INFO=open / mkl)."""
    try:
        cfg = torch.__config__.show()
        return next((part.split("=")[1] for part in cfg.replace(",", " ").split() if part.startswith("BLAS_INFO=")), "?")
    except Exception:  # noqa: BLE001
        return "?"


def main():
    rows, dense, experts = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    hidden = [int(h) for h in sys.argv[4].split(",")]
    tower, batch, epochs, threads = int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
    tables = [tuple(int(v) for v in t.split("x")) for t in sys.argv[9].split(",")] if len(sys.argv) > 9 and sys.argv[9] not in ("", "-") else []
    mode = sys.argv[10] if len(sys.argv) > 10 else "fused"
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = torch.randn(rows, dense)
    ids = torch.stack([torch.randint(1, r, (rows,)) for r, _ in tables], 1) if tables else torch.zeros(rows, 0, dtype=torch.long)
    y = (torch.rand(rows, 2) < 0.3).float()
    model = (FusedMMoE if mode == "fused" else MMoE)(dense, tables, 2, experts, hidden, tower)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.BCEWithLogitsLoss()
    rates = []
    phases = []  # per epoch: ms in forward (batch indexing + network + loss), backward (zero_grad + backward), optimizer
    for _ in range(epochs):
        perm = torch.randperm(rows)
        forward = backward = step = 0.0
        start = time.perf_counter()
        for i in range(0, rows, batch):
            t0 = time.perf_counter()
            idx = perm[i:i + batch]
            loss = lossf(model(x[idx], ids[idx]), y[idx])
            t1 = time.perf_counter()
            opt.zero_grad()
            loss.backward()
            t2 = time.perf_counter()
            opt.step()
            t3 = time.perf_counter()
            forward += t1 - t0
            backward += t2 - t1
            step += t3 - t2
        rates.append(rows / (time.perf_counter() - start))
        phases.append([1000 * forward, 1000 * backward, 1000 * step])
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "parameters": params, "blas_threads": blas_threads(),
                      "blas": blas_library(), "blas_core": blas_core(), "mode": mode,
                      "mkl": torch.backends.mkl.is_available(), "blas_info": blas_config(),
                      "samples_per_second": rates, "phases_ms": phases}))


if __name__ == "__main__":
    main()
