"""PyTorch half of `cargo xtask bench scale --python PY`.

One recurrent layer (nn.RNN, nn.LSTM or nn.GRU, batch_first) + nn.Linear(units, 1) on the last
step, Adam (lr 1e-3), MSE on random data, at the grid points of crates/experiments/src/bin/
bench_scale.rs; prints JSON {"points": [{"cell", "batch", "time", "features", "units",
"ms_per_step"}], "versions": {...}} with the median milliseconds per training step (forward,
backward, optimizer step) over the measured steps, after warm-up steps. PyTorch uses its default
threads (every core).
"""

import argparse
import json
import sys
import time

import numpy as np

GRID = [(32, 50, 1, 20), (32, 50, 20, 20), (32, 50, 128, 128), (128, 100, 128, 128), (64, 50, 512, 512)]
CELLS = ["simple-rnn", "lstm", "gru"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=CELLS, help="time this cell kind only")
    parser.add_argument("--point", type=int, choices=range(1, len(GRID) + 1), help="time this grid point only (1-5)")
    args = parser.parse_args()
    import torch
    from torch import nn

    torch.manual_seed(42)
    layer = {"simple-rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

    class Model(nn.Module):
        def __init__(self, cell, features, units):
            super().__init__()
            self.recurrent = layer[cell](features, units, batch_first=True)
            self.out = nn.Linear(units, 1)

        def forward(self, x):
            s, _ = self.recurrent(x)
            return self.out(s[:, -1])

    points = []
    grid = GRID[:1] if args.quick else GRID if args.point is None else [GRID[args.point - 1]]
    for batch, steps, features, units in grid:
        for cell in CELLS if args.only is None else [args.only]:
            net = Model(cell, features, units)
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            loss_fn = nn.MSELoss()
            x = torch.rand(batch, steps, features) * 2 - 1
            y = torch.rand(batch, 1) - 0.5
            work = batch * steps * (features + units) * units
            measured = 1 if args.quick else max(4, min(40, 40_000_000 // work))
            times = []
            for i in range(measured + (0 if args.quick else 2)):
                start = time.perf_counter()
                opt.zero_grad()
                loss = loss_fn(net(x), y)
                loss.backward()
                opt.step()
                if args.quick or i >= 2:  # two warm-up steps
                    times.append((time.perf_counter() - start) * 1000)
            ms = float(np.median(times))
            points.append({
                "cell": cell, "batch": batch, "time": steps, "features": features, "units": units,
                "ms_per_step": ms,
            })
            print(f"{cell:<11} {batch} x {steps} x {features} x {units}  pytorch {ms:.2f} ms", file=sys.stderr)
    json.dump({"points": points, "versions": {"torch": torch.__version__, "numpy": np.__version__}}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
