"""PyTorch and Keras halves of `cargo xtask bench rnn --python PY`.

Trains the lecture's deep RNN (3 x SimpleRNN, lr 0.005) and the LSTM seq2seq model
(3 x LSTM(20) + TimeDistributed(Dense(10)), lr 0.01) on the lecture's data
(np.random.seed(42); generate_time_series(10000, 50 + ahead); 7000 training series; batch 32;
Adam; MSE) and prints JSON: {"deep-rnn": {"pytorch": s, "keras": s}, "seq2seq-lstm": {...},
"versions": {...}} with the median seconds per training epoch. A framework that cannot be
imported gets null. Keras runs on TensorFlow when installed, otherwise on the PyTorch backend
(reported under "versions").
"""

import argparse
import importlib.util
import json
import os
import sys
import time

import numpy as np


def generate_time_series(batch_size, n_steps):
    freq1, freq2, offsets1, offsets2 = np.random.rand(4, batch_size, 1)
    time_ = np.linspace(0, 1, n_steps)
    series = 0.5 * np.sin((time_ - offsets1) * (freq1 * 10 + 10))
    series += 0.2 * np.sin((time_ - offsets2) * (freq2 * 20 + 20))
    series += 0.1 * (np.random.rand(batch_size, n_steps) - 0.5)
    return series[..., np.newaxis].astype(np.float32)


def lecture_data(model, quick):
    n = 500 if quick else 10000
    n_train = 350 if quick else 7000
    np.random.seed(42)
    if model == "deep-rnn":
        series = generate_time_series(n, 51)
        return series[:n_train, :50], series[:n_train, -1]
    series = generate_time_series(n, 60)
    x = series[:n_train, :50]
    y = np.empty((n_train, 50, 10), dtype=np.float32)
    for ahead in range(1, 11):
        y[..., ahead - 1] = series[:n_train, ahead:ahead + 50, 0]
    return x, y


LEARNING_RATE = {"deep-rnn": 0.005, "seq2seq-lstm": 0.01}


def bench_pytorch(model, x, y, epochs):
    import torch
    from torch import nn

    torch.manual_seed(42)

    class DeepRnn(nn.Module):
        def __init__(self):
            super().__init__()
            self.r1 = nn.RNN(1, 20, batch_first=True)
            self.r2 = nn.RNN(20, 20, batch_first=True)
            self.r3 = nn.RNN(20, 1, batch_first=True)

        def forward(self, x):
            x, _ = self.r1(x)
            x, _ = self.r2(x)
            _, h = self.r3(x)
            return h[-1]

    class Seq2SeqLstm(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, 20, num_layers=3, batch_first=True)
            self.out = nn.Linear(20, 10)

        def forward(self, x):
            s, _ = self.lstm(x)
            return self.out(s)

    net = DeepRnn() if model == "deep-rnn" else Seq2SeqLstm()
    opt = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE[model], eps=1e-7)
    loss_fn = nn.MSELoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(len(xt))
        for i in range(0, len(xt), 32):
            idx = perm[i:i + 32]
            opt.zero_grad()
            loss = loss_fn(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds)), torch.__version__


def bench_keras(model, x, y, epochs):
    if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("tensorflow") is None:
        os.environ["KERAS_BACKEND"] = "torch"
    import keras

    keras.utils.set_random_seed(42)
    layers = keras.layers
    if model == "deep-rnn":
        net = keras.Sequential([
            keras.Input((None, 1)),
            layers.SimpleRNN(20, return_sequences=True),
            layers.SimpleRNN(20, return_sequences=True),
            layers.SimpleRNN(1),
        ])
    else:
        net = keras.Sequential([
            keras.Input((None, 1)),
            layers.LSTM(20, return_sequences=True),
            layers.LSTM(20, return_sequences=True),
            layers.LSTM(20, return_sequences=True),
            layers.TimeDistributed(layers.Dense(10)),
        ])
    net.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE[model]))

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.start)

    timer = Timer()
    net.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=[timer])
    return float(np.median(timer.seconds)), f"{keras.__version__} ({keras.backend.backend()})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    result = {"versions": {"numpy": np.__version__}}
    for model in ["deep-rnn", "seq2seq-lstm"]:
        x, y = lecture_data(model, args.quick)
        figures = {}
        for name, bench in [("pytorch", bench_pytorch), ("keras", bench_keras)]:
            try:
                seconds, version = bench(model, x, y, args.epochs)
                figures[name] = seconds
                result["versions"][name] = version
                print(f"{model:<14} {name:<8} {seconds:.3f} s/epoch", file=sys.stderr)
            except ImportError as e:
                figures[name] = None
                print(f"{model:<14} {name:<8} not available: {e}", file=sys.stderr)
        result[model] = figures
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
