"""PyTorch and Keras halves of `cargo xtask bench rnn --python PY`.

Trains the lecture's deep RNN (3 x SimpleRNN, lr 0.005) and its seq2seq models (3 recurrent
layers of 20 units + TimeDistributed(Dense(10)), lr 0.01: LSTM, GRU, and the lecture's
layer-normalized SimpleRNN cell, written as each framework's users write it) on the lecture's
data (np.random.seed(42); generate_time_series(10000, 50 + ahead); 7000 training series; batch
32; Adam; MSE) and prints JSON: {"deep-rnn": {"pytorch": s, "keras": s}, "seq2seq-lstm": {...},
"seq2seq-gru": {...}, "seq2seq-layernorm": {...}, "versions": {...}} with the median seconds per
training epoch. A framework that cannot be
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


MODELS = ["deep-rnn", "seq2seq-lstm", "seq2seq-gru", "seq2seq-layernorm"]
LEARNING_RATE = {"deep-rnn": 0.005, "seq2seq-lstm": 0.01, "seq2seq-gru": 0.01, "seq2seq-layernorm": 0.01}


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

    class Seq2Seq(nn.Module):
        def __init__(self, recurrent):
            super().__init__()
            self.recurrent = recurrent(1, 20, num_layers=3, batch_first=True)
            self.out = nn.Linear(20, 10)

        def forward(self, x):
            s, _ = self.recurrent(x)
            return self.out(s)

    class LayerNormRnn(nn.Module):
        """The lecture's cell as PyTorch users write it: h = tanh(LayerNorm(x·W + b + h·U))."""

        def __init__(self, inputs, units):
            super().__init__()
            self.kernel = nn.Linear(inputs, units)
            self.recurrent = nn.Linear(units, units, bias=False)
            self.norm = nn.LayerNorm(units, eps=1e-3)

        def forward(self, x):
            projected = self.kernel(x)
            h = x.new_zeros(x.shape[0], self.recurrent.in_features)
            outputs = []
            for t in range(x.shape[1]):
                h = torch.tanh(self.norm(projected[:, t] + self.recurrent(h)))
                outputs.append(h)
            return torch.stack(outputs, 1)

    class Seq2SeqLayerNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.Sequential(LayerNormRnn(1, 20), LayerNormRnn(20, 20), LayerNormRnn(20, 20))
            self.out = nn.Linear(20, 10)

        def forward(self, x):
            return self.out(self.layers(x))

    net = {
        "deep-rnn": DeepRnn,
        "seq2seq-lstm": lambda: Seq2Seq(nn.LSTM),
        "seq2seq-gru": lambda: Seq2Seq(nn.GRU),
        "seq2seq-layernorm": Seq2SeqLayerNorm,
    }[model]()
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


def LNSimpleRNNCell(keras, units):
    """The lecture's cell (Hands-On ML 2e ch. 15), built for the imported `keras`."""

    class Cell(keras.layers.Layer):
        def __init__(self, units, activation="tanh", **kwargs):
            super().__init__(**kwargs)
            self.state_size = units
            self.output_size = units
            self.simple_rnn_cell = keras.layers.SimpleRNNCell(units, activation=None)
            self.layer_norm = keras.layers.LayerNormalization()
            self.activation = keras.activations.get(activation)

        def build(self, input_shape):
            self.simple_rnn_cell.build(input_shape)
            self.layer_norm.build((input_shape[0], self.state_size))

        def call(self, inputs, states):
            outputs, _ = self.simple_rnn_cell(inputs, states)
            norm_outputs = self.activation(self.layer_norm(outputs))
            return norm_outputs, [norm_outputs]

    return Cell(units)


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
        recurrent = {
            "seq2seq-lstm": lambda: layers.LSTM(20, return_sequences=True),
            "seq2seq-gru": lambda: layers.GRU(20, return_sequences=True),
            "seq2seq-layernorm": lambda: layers.RNN(LNSimpleRNNCell(keras, 20), return_sequences=True),
        }[model]
        net = keras.Sequential(
            [keras.Input((None, 1))] + [recurrent() for _ in range(3)] + [layers.TimeDistributed(layers.Dense(10))]
        )
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
    parser.add_argument("--only", choices=MODELS, help="time this model only")
    parser.add_argument("--skip", default="", help="comma-separated: pytorch, keras")
    args = parser.parse_args()
    skipped = set(filter(None, args.skip.split(",")))
    result = {"versions": {"numpy": np.__version__}}
    for model in MODELS if args.only is None else [args.only]:
        x, y = lecture_data(model, args.quick)
        figures = {}
        for name, bench in [("pytorch", bench_pytorch), ("keras", bench_keras)]:
            if name in skipped:
                figures[name] = None
                continue
            try:
                seconds, version = bench(model, x, y, args.epochs)
                figures[name] = seconds
                result["versions"][name] = version
                print(f"{model:<18} {name:<8} {seconds:.3f} s/epoch", file=sys.stderr)
            except ImportError as e:
                figures[name] = None
                print(f"{model:<18} {name:<8} not available: {e}", file=sys.stderr)
        result[model] = figures
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
