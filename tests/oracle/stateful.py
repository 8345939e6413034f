"""Keras fixtures of stateful recurrent models: tests/fixtures/stateful/cases.json.

For each model, Keras 3 with `stateful=True` and a fixed batch of 2 is called on x1 and then on
x2 (the state of each batch row carried from the first call into the second), and a copy
without `stateful` is called on x1 and x2 joined. The fixture holds the layers (Keras's specs),
their weights, x1, x2, the two stateful outputs and the joined run's output for the x2 part,
which equals the second stateful output: carrying state over two calls is one call on the
joined sequence.

Run with Keras 3.15.1 on any backend (checked on torch 2.9.0):
    KERAS_BACKEND=torch python tests/oracle/stateful.py

`python tests/oracle/stateful.py bidirectional` writes bidirectional.json instead: stateful
Bidirectional layers, where each direction carries its own final states (the backward copy's
are those of the first step of the previous call), so two calls are *not* one call on the
joined sequence; those cases have `"joined_tail": null`. (Generated on the jax backend: models
are called directly — Keras's `predict` on jax does not write stateful layers' states back.)
"""

import json
import os
import sys

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")
import keras  # noqa: E402
from keras import layers  # noqa: E402

BATCH, FEATURES, T1, T2 = 2, 3, 5, 4


def models():
    return {
        "simple_rnn_stack": lambda s: [
            layers.SimpleRNN(5, return_sequences=True, stateful=s),
            layers.SimpleRNN(4, stateful=s),
            layers.Dense(2),
        ],
        "lstm_sequence": lambda s: [
            layers.LSTM(6, return_sequences=True, stateful=s),
            layers.TimeDistributed(layers.Dense(3)),
        ],
        "gru_reset_after": lambda s: [layers.GRU(5, stateful=s), layers.Dense(1)],
        "gru_classic_stack": lambda s: [
            layers.GRU(4, reset_after=False, return_sequences=True, stateful=s),
            layers.GRU(3, reset_after=False, stateful=s),
        ],
    }


def bidirectional_models():
    return {
        "bidirectional_lstm_concat": lambda s: [
            layers.Bidirectional(layers.LSTM(4, return_sequences=True, stateful=s)),
            layers.TimeDistributed(layers.Dense(2)),
        ],
        "bidirectional_gru_sum_then_simple_rnn": lambda s: [
            layers.Bidirectional(layers.GRU(3, return_sequences=True, stateful=s), merge_mode="sum"),
            layers.SimpleRNN(2, stateful=s),
        ],
    }


def build(make, stateful):
    model = keras.Sequential([keras.Input(batch_shape=(BATCH, None, FEATURES))] + make(stateful))
    return model


def array(a):
    a = np.asarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "data": a.reshape(-1).tolist()}


def main():
    bidirectional = sys.argv[1:] == ["bidirectional"]
    keras.utils.set_random_seed(7)
    rng = np.random.default_rng(7)
    cases = []
    for name, make in (bidirectional_models() if bidirectional else models()).items():
        stateful = build(make, True)
        # Non-zero biases, so that every bias path is checked.
        for layer in stateful.layers:
            layer.set_weights([w + rng.normal(0, 0.3, w.shape).astype(np.float32) for w in layer.get_weights()])
        joined = build(make, False)
        joined.set_weights(stateful.get_weights())
        x1 = rng.normal(0, 1, (BATCH, T1, FEATURES)).astype(np.float32)
        x2 = rng.normal(0, 1, (BATCH, T2, FEATURES)).astype(np.float32)
        y1 = keras.ops.convert_to_numpy(stateful(x1))
        y2 = keras.ops.convert_to_numpy(stateful(x2))
        yj = keras.ops.convert_to_numpy(joined(np.concatenate([x1, x2], axis=1)))
        tail = yj[:, T1:] if yj.ndim == 3 else yj
        if bidirectional:
            assert not np.allclose(tail, y2, atol=1e-5), name
            tail = None
        else:
            assert np.allclose(tail, y2, atol=1e-5), name
        cases.append({
            "name": name,
            "features": FEATURES,
            "layers": [
                {"class_name": l.__class__.__name__, "config": l.get_config()} for l in stateful.layers
            ],
            "weights": [[array(w) for w in l.get_weights()] for l in stateful.layers],
            "x1": array(x1),
            "x2": array(x2),
            "y1": array(y1),
            "y2": array(y2),
            "joined_tail": None if tail is None else array(tail),
        })
    file = "bidirectional.json" if bidirectional else "cases.json"
    out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "stateful", file)
    with open(out, "w") as f:
        json.dump({"keras": keras.__version__, "backend": keras.backend.backend(), "cases": cases}, f)
        f.write("\n")
    print(f"{len(cases)} cases -> {out}")


if __name__ == "__main__":
    main()
