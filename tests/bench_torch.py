"""bench_torch.py BATCH EPOCHS THREADS: the baseline MLP in PyTorch, for make bench.

Same model, loss, optimizer (Adam, eps 1e-7 as Keras) and data as the
workbench benchmark, manual batching over a shuffled index (no DataLoader).
THREADS 1 pins torch to one thread; 0 keeps its default. Prints one line:
RESULT <seconds per epoch, comma separated> <peak RSS KiB> <train accuracy>.
Only the standard library and torch are used; reference only, never needed
to build, run or test the workbench.
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


def main():
    batch, epochs, threads = (int(a) for a in sys.argv[1:4])
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(1)
    x = idx("data/mnist/train-images-idx3-ubyte").reshape(-1, 784)
    y = idx("data/mnist/train-labels-idx1-ubyte").long()
    model = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    times, correct = [], 0
    n = x.shape[0]
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        correct = 0
        for i in range(0, n, batch):
            ix = perm[i:i + batch]
            xb = x[ix].float() / 255.0
            yb = y[ix]
            out = model(xb)
            loss = loss_fn(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            correct += (out.argmax(1) == yb).sum().item()
        times.append(time.perf_counter() - t0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("RESULT %s %d %.4f" % (",".join("%.4f" % t for t in times), rss, correct / n))


if __name__ == "__main__":
    main()
