"""bench_torch.py BATCH EPOCHS THREADS [LOOP [OPT]]: the baseline MLP in PyTorch, for make bench.

Same model (784-128 ReLU-10), loss (cross-entropy on the logits), optimizer
(OPT adam, the default: Adam, lr 1e-3, eps 1e-7 as Keras; sgd: plain SGD,
lr 0.05, as tests/bench_instruments.lua trains) and data as the workbench benchmark,
manual batching over an index shuffled by torch.randperm every epoch (no
DataLoader). THREADS 1 pins torch to one thread; 0 keeps its default.

LOOP picks the training loop:
  strong  (default) the fastest plain loop: the training set converted to
          float once, batches by index, zero_grad(set_to_none=True), no
          per-step .item() or metric (nothing syncs inside the epoch), and
          Adam's foreach implementation (its default from PyTorch 2.0; in
          1.13 it takes a step over the 4 tensors in about half the time
          of the per-tensor one at batch 8); the train accuracy is that of
          the final weights on the whole training set, computed after the
          timed epochs.
  naive   the loop make bench used first: every batch converted from uint8,
          zero_grad() to zeros, and the accuracy summed with .item() every
          step (a sync per step), as a first PyTorch port would do.
Before the timed epochs, WARMUP steps (default 300) of the same loop warm
the caches and allocator (on the same model and optimizer; they are not
part of any epoch). Run with OMP_NUM_THREADS=1 as well as THREADS 1, or an
idle OpenMP thread spins on a busy machine and counts in the CPU time.
Prints one line: RESULT <CPU seconds per epoch> <wall seconds per epoch>
<peak RSS KiB> <train accuracy> (the lists comma separated). CPU seconds
are the process's (time.process_time), which a busy shared machine
disturbs less than the wall clock. Only the standard library and torch are used; reference
only, never needed to build, run or test the workbench.
"""
import resource
import struct
import sys
import time

import torch


def idx(path):
    with open(path, "rb") as f:
        data = f.read()
    nd = data[3]
    dims = struct.unpack(">" + "I" * nd, data[4:4 + 4 * nd])
    return torch.frombuffer(bytearray(data[4 + 4 * nd:]), dtype=torch.uint8).reshape(dims)


WARMUP = 300


def strong_epoch(model, opt, loss_fn, x, y, batch, steps=None):
    n = x.shape[0]
    perm = torch.randperm(n)
    for i in range(0, n if steps is None else steps * batch, batch):
        ix = perm[i:i + batch]
        loss = loss_fn(model(x[ix]), y[ix])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return None


def naive_epoch(model, opt, loss_fn, x, y, batch, steps=None):
    n = x.shape[0]
    perm = torch.randperm(n)
    correct = 0
    for i in range(0, n if steps is None else steps * batch, batch):
        ix = perm[i:i + batch]
        xb = x[ix].float() / 255.0
        yb = y[ix]
        out = model(xb)
        loss = loss_fn(out, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        correct += (out.argmax(1) == yb).sum().item()
    return correct / n


def main():
    batch, epochs, threads = (int(a) for a in sys.argv[1:4])
    loop = sys.argv[4] if len(sys.argv) > 4 else "strong"
    if loop not in ("strong", "naive"):
        sys.exit("bench_torch.py: LOOP must be strong or naive, got %r" % loop)
    optname = sys.argv[5] if len(sys.argv) > 5 else "adam"
    if optname not in ("adam", "sgd") or len(sys.argv) > 6:
        sys.exit("bench_torch.py: OPT must be adam or sgd (and nothing after it), got %r"
                 % sys.argv[5:])
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = idx("data/mnist/train-images-idx3-ubyte").reshape(-1, 784)
    y = idx("data/mnist/train-labels-idx1-ubyte").long()
    if loop == "strong":
        x = x.float().div_(255.0)  # once, outside the timed epochs
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    if optname == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.05, foreach=loop == "strong")
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, foreach=loop == "strong")
    loss_fn = torch.nn.CrossEntropyLoss()
    epoch = strong_epoch if loop == "strong" else naive_epoch
    epoch(model, opt, loss_fn, x, y, batch, min(WARMUP, x.shape[0] // batch))
    cpu, wall, acc = [], [], 0.0
    for _ in range(epochs):
        c0, t0 = time.process_time(), time.perf_counter()
        acc = epoch(model, opt, loss_fn, x, y, batch)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - t0)
    if acc is None:
        with torch.no_grad():
            acc = (model(x).argmax(1) == y).float().mean().item()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("RESULT %s %s %d %.4f" % (",".join("%.4f" % t for t in cpu),
                                    ",".join("%.4f" % t for t in wall), rss, acc))


if __name__ == "__main__":
    main()
