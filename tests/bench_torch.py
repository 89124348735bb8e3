"""bench_torch.py BATCH EPOCHS THREADS [LOOP [OPT [INPUT]]]: the baseline MLP in PyTorch, for make bench.

Same model (784-128 ReLU-10), loss (cross-entropy on the logits), optimizer
(OPT adam, the default: Adam, lr 1e-3, eps 1e-7 as Keras; sgd: plain SGD,
lr 0.05, as tests/bench_instruments.lua trains) and data as the workbench benchmark,
manual batching over an index shuffled by torch.randperm every epoch (no
DataLoader). THREADS n: torch.set_num_threads(n); 0 keeps its default. That
caps torch's own pool only: Debian's torch calls the same openblas-pthread,
whose pool follows OPENBLAS_NUM_THREADS, so tests/bench.lua also sets the
thread variables in this process's environment (tests/bench_common.lua).
$WB_BENCH_TRAIN_ROWS (default 60000) limits the training rows (a tiny
configuration for tests).

LOOP picks the training loop:
  strong  (default) the fastest plain loop: torch.set_flush_denormal(True)
          (PyTorch's documented switch: subnormal floats read and written
          as 0, so a CPU that takes a microcode assist on each operation
          on one, as Intel's do, never meets them; Adam's moments of
          weights whose gradient stays 0 decay into them), the training
          set converted to float once, batches by index, zero_grad(set_to_none=True), no
          per-step .item() or metric (nothing syncs inside the epoch), and
          Adam's foreach implementation (its default from PyTorch 2.0; in
          1.13 it takes a step over the 4 tensors in about half the time
          of the per-tensor one at batch 8); the train accuracy is that of
          the final weights on the whole training set, computed after the
          timed epochs.
  naive   the loop make bench used first: every batch converted from uint8,
          zero_grad() to zeros, and the accuracy summed with .item() every
          step (a sync per step), as a first PyTorch port would do; no
          flush of subnormals.
  manual  no autograd, no nn.Module, no torch.optim (adapted from audit L's
          manual loop): the same data handling and flush as strong, the
          forward by addmm, the softmax cross-entropy gradient and the
          backward by hand, Adam (Keras's form, eps outside the root of
          the bias-corrected v) or SGD by torch._foreach_* ops, all under
          torch.no_grad; its weights start as strong's. What a plain
          PyTorch loop costs without the framework's per-step overhead;
          not part of make bench's table.
INPUT raw (the default): pixels / 255, 81 % of them 0; std (strong and
manual loops only): MNIST standardised, (x / 255 - 0.1307) / 0.3081, no pixel 0, as
tests/bench.lua's dense-input rows (workbench skips zero inputs in its
Dense products; PyTorch has no such shortcut here).
Before the timed epochs, WARMUP steps (default 300) of the same loop warm
the caches and allocator (on the same model and optimizer; they are not
part of any epoch). Run with OMP_NUM_THREADS=1 as well as THREADS 1, or an
idle OpenMP thread spins on a busy machine and counts in the CPU time.
Prints one line: RESULT <CPU seconds per epoch> <wall seconds per epoch>
<peak RSS KiB> <train accuracy> <peak RSS KiB right after import torch>
<peak RSS KiB once the data is loaded (and converted, strong)>
<torch.get_num_threads()> <OS threads of the process, /proc/self/task, at the end> (the lists
comma separated). The IDX files are read into one buffer each, which the
tensor shares (no transient copies of the file). CPU seconds
are the process's (time.process_time), which a busy shared machine
disturbs less than the wall clock. Only the standard library and torch are used; reference
only, never needed to build, run or test the workbench.
"""
import os
import resource
import struct
import sys
import time

import torch

RSS_IMPORT = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB, after import torch


def idx(path):
    """An IDX file of uint8 as a tensor sharing one buffer read in place (no
    copy of the file's bytes, no slice of them, no second buffer)."""
    with open(path, "rb") as f:
        head = f.read(4)
        nd = head[3]
        dims = struct.unpack(">" + "I" * nd, f.read(4 * nd))
        n = 1
        for d in dims:
            n *= d
        buf = bytearray(n)
        if f.readinto(buf) != n:
            sys.exit("bench_torch.py: %s: expected %d bytes of data after its header" % (path, n))
    return torch.frombuffer(buf, dtype=torch.uint8).reshape(dims)


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


class Manual:
    """The manual loop's state: weights as plain tensors (W [in, out]), the
    Adam moments, the step count."""

    def __init__(self, model, optname):
        self.P = [model[0].weight.detach().t().contiguous(), model[0].bias.detach().clone(),
                  model[2].weight.detach().t().contiguous(), model[2].bias.detach().clone()]
        self.M = [torch.zeros_like(p) for p in self.P]
        self.V = [torch.zeros_like(p) for p in self.P]
        self.sgd, self.t = optname == "sgd", 0

    def __call__(self, xb):  # the logits, for the final accuracy
        w1, b1, w2, b2 = self.P
        return torch.addmm(b2, torch.addmm(b1, xb, w1).clamp_(min=0), w2)

    def step(self, xb, yb):
        w1, b1, w2, b2 = self.P
        h = torch.addmm(b1, xb, w1).clamp_(min=0)
        p = torch.softmax(torch.addmm(b2, h, w2), 1)
        p[torch.arange(len(yb)), yb] -= 1
        dz = p.div_(len(yb))
        dh = dz.mm(w2.t()).mul_(h > 0)
        g = [xb.t().mm(dh), dh.sum(0), h.t().mm(dz), dz.sum(0)]
        if self.sgd:
            torch._foreach_add_(self.P, g, alpha=-0.05)
            return
        self.t += 1
        torch._foreach_mul_(self.M, 0.9)
        torch._foreach_add_(self.M, g, alpha=0.1)
        torch._foreach_mul_(self.V, 0.999)
        torch._foreach_addcmul_(self.V, g, g, value=0.001)
        a = 1e-3 * (1 - 0.999 ** self.t) ** 0.5 / (1 - 0.9 ** self.t)
        den = torch._foreach_sqrt(self.V)
        torch._foreach_add_(den, 1e-7)
        torch._foreach_addcdiv_(self.P, self.M, den, value=-a)


def manual_epoch(model, opt, loss_fn, x, y, batch, steps=None):
    n = x.shape[0]
    perm = torch.randperm(n)
    with torch.no_grad():
        for i in range(0, n if steps is None else steps * batch, batch):
            ix = perm[i:i + batch]
            model.step(x[ix], y[ix])
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
    if loop not in ("strong", "naive", "manual"):
        sys.exit("bench_torch.py: LOOP must be strong, naive or manual, got %r" % loop)
    optname = sys.argv[5] if len(sys.argv) > 5 else "adam"
    if optname not in ("adam", "sgd"):
        sys.exit("bench_torch.py: OPT must be adam or sgd, got %r" % optname)
    inp = sys.argv[6] if len(sys.argv) > 6 else "raw"
    if inp not in ("raw", "std") or len(sys.argv) > 7:
        sys.exit("bench_torch.py: INPUT must be raw or std (and nothing after it), got %r"
                 % sys.argv[6:])
    if inp == "std" and loop == "naive":
        sys.exit("bench_torch.py: INPUT std is for the strong and manual loops only")
    if loop != "naive":
        torch.set_flush_denormal(True)
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = idx("data/mnist/train-images-idx3-ubyte").reshape(-1, 784)
    y = idx("data/mnist/train-labels-idx1-ubyte").long()
    rows = int(os.environ.get("WB_BENCH_TRAIN_ROWS") or 60000)
    if not 1 <= rows <= 60000:
        sys.exit("bench_torch.py: WB_BENCH_TRAIN_ROWS must be 1..60000, got %d" % rows)
    x, y = x[:rows], y[:rows]
    if loop != "naive":
        x = x.float().div_(255.0)  # once, outside the timed epochs
        if inp == "std":
            x.sub_(0.1307).div_(0.3081)  # in place: no pixel is 0 after this
    rss_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    if optname == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=0.05, foreach=loop == "strong")
    else:
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7, foreach=loop == "strong")
    loss_fn = torch.nn.CrossEntropyLoss()
    epoch = {"strong": strong_epoch, "naive": naive_epoch, "manual": manual_epoch}[loop]
    if loop == "manual":
        model = Manual(model, optname)
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
    print("RESULT %s %s %d %.4f %d %d %d %d" % (",".join("%.4f" % t for t in cpu),
                                                ",".join("%.4f" % t for t in wall), rss, acc,
                                                RSS_IMPORT, rss_data, torch.get_num_threads(),
                                                len(os.listdir("/proc/self/task"))))


if __name__ == "__main__":
    main()
