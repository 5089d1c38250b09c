"""PyTorch peer of the torch-linear benchmark: one Linear layer's forward and forward + backward for the issue MMoE's
layer shapes, best of 5 x 200 calls after 50 warm-up calls; prints one line per shape:
IN OUT FORWARD_SECONDS FORWARD_BACKWARD_SECONDS, then 'core NAME' (OpenBLAS's kernel).
  /usr/bin/python3 torch_linear_peer.py BATCH THREADS"""
import sys
import time

import torch

from mmoe_peer import blas_core  # the same directory: OpenBLAS's kernel name


def main():
    batch, threads = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    for i, o in [(148, 256), (256, 128), (148, 4), (128, 64), (64, 1)]:
        lin = torch.nn.Linear(i, o)
        x = torch.randn(batch, i, requires_grad=True)
        gy = torch.randn(batch, o)

        def step():
            lin(x).backward(gy)

        for _ in range(50):
            step()
        both = min(timed(step) for _ in range(5))
        with torch.no_grad():
            fwd = min(timed(lambda: lin(x)) for _ in range(5))
        print(i, o, fwd, both)
    print("core", blas_core())


def timed(f):
    t = time.perf_counter()
    for _ in range(200):
        f()
    return (time.perf_counter() - t) / 200


if __name__ == "__main__":
    main()
