"""PyTorch (and ONNX Runtime) half of `cargo xtask bench infer --python PY`.

The two models of the Rust half with random weights: deep-rnn-dense (RNN(20) . RNN(20) . Linear(1)
on the last step) and seq2seq-lstm (3 x LSTM(20) . Linear(10) on every step), 50-step windows of
one feature. Prints JSON {"deep-rnn-dense": {"window_latency_us": {"pytorch", "onnxruntime"},
"batch1024_samples_per_s": {...}}, ..., "versions": {...}}: medians, batch 1 on one thread,
batch 1024 on every core, torch.inference_mode. A package that cannot be imported gets null; ONNX
Runtime runs the same PyTorch model exported with torch.onnx.export.
"""

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time

import numpy as np

TIME = 50
BIG = 1024


def median_seconds(rounds, reps, f):
    f()
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(reps):
            f()
        times.append((time.perf_counter() - start) / reps)
    times.sort()
    return times[len(times) // 2]


def models():
    import torch
    from torch import nn

    class DeepRnnDense(nn.Module):
        def __init__(self):
            super().__init__()
            self.r1 = nn.RNN(1, 20, batch_first=True)
            self.r2 = nn.RNN(20, 20, batch_first=True)
            self.out = nn.Linear(20, 1)

        def forward(self, x):
            h, _ = self.r1(x)
            h, _ = self.r2(h)
            return self.out(h[:, -1])

    class Seq2SeqLstm(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1 = nn.LSTM(1, 20, batch_first=True)
            self.l2 = nn.LSTM(20, 20, batch_first=True)
            self.l3 = nn.LSTM(20, 20, batch_first=True)
            self.out = nn.Linear(20, 10)

        def forward(self, x):
            h, _ = self.l1(x)
            h, _ = self.l2(h)
            h, _ = self.l3(h)
            return self.out(h)

    torch.manual_seed(42)
    return {"deep-rnn-dense": DeepRnnDense().eval(), "seq2seq-lstm": Seq2SeqLstm().eval()}


def window(batch):
    i = np.arange(batch * TIME)
    return (np.sin((i % 97) * 0.37) * 0.5).astype(np.float32).reshape(batch, TIME, 1)


def bench_pytorch(model, quick):
    import torch

    rounds, reps = (3, 20) if quick else (15, 200)
    x1, big = torch.from_numpy(window(1)), torch.from_numpy(window(BIG))
    cores = os.cpu_count() or 1
    with torch.inference_mode():
        torch.set_num_threads(1)
        latency = median_seconds(rounds, reps, lambda: model(x1))
        torch.set_num_threads(cores)
        per_batch = median_seconds(3 if quick else 9, 1, lambda: model(big))
    return 1e6 * latency, BIG / per_batch


def bench_onnxruntime(model, quick):
    import onnxruntime as ort
    import torch

    rounds, reps = (3, 20) if quick else (15, 400)
    path = os.path.join(tempfile.mkdtemp(), "model.onnx")
    torch.onnx.export(
        model, (torch.from_numpy(window(1)),), path, input_names=["x"], output_names=["y"],
        dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, dynamo=False,
    )

    def session(threads):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])

    one, every = session(1), session(os.cpu_count() or 1)
    x1, big = window(1), window(BIG)
    latency = median_seconds(rounds, reps, lambda: one.run(None, {"x": x1}))
    per_batch = median_seconds(3 if quick else 9, 1, lambda: every.run(None, {"x": big}))
    return 1e6 * latency, BIG / per_batch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    result = {"versions": {"numpy": np.__version__, "python": sys.version.split()[0]}}
    have = {name: importlib.util.find_spec(name) is not None for name in ["torch", "onnxruntime", "onnx"]}
    built = models() if have["torch"] else {}
    if have["torch"]:
        import torch

        result["versions"]["torch"] = torch.__version__
    if have["onnxruntime"]:
        import onnxruntime

        result["versions"]["onnxruntime"] = onnxruntime.__version__
    for name in ["deep-rnn-dense", "seq2seq-lstm"]:
        figures = {"window_latency_us": {"pytorch": None}, "batch1024_samples_per_s": {"pytorch": None}}
        if have["torch"]:
            lat, thr = bench_pytorch(built[name], args.quick)
            figures["window_latency_us"]["pytorch"] = lat
            figures["batch1024_samples_per_s"]["pytorch"] = thr
            print(f"{name:<16} pytorch     {lat:9.1f} us  {thr:10.0f} samples/s", file=sys.stderr)
        if have["torch"] and have["onnxruntime"] and have["onnx"]:
            lat, thr = bench_onnxruntime(built[name], args.quick)
            figures["window_latency_us"]["onnxruntime"] = lat
            figures["batch1024_samples_per_s"]["onnxruntime"] = thr
            print(f"{name:<16} onnxruntime {lat:9.1f} us  {thr:10.0f} samples/s", file=sys.stderr)
        result[name] = figures
    print(json.dumps(result))


if __name__ == "__main__":
    main()
