"""Times keras_preprocessing 1.1.2 on the corpus that benches/corpus.rs generates.

fit_on_texts + texts_to_sequences + pad_sequences(maxlen=40) on 100 000 documents; prints the
median seconds of 3 runs on the last line. Needs `pip install keras-preprocessing==1.1.2 "numpy<2"`.
"""
import time

from keras_preprocessing.sequence import pad_sequences
from keras_preprocessing.text import Tokenizer

MASK = (1 << 64) - 1


class Lcg:
    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) & MASK
        return self.state >> 33


def corpus(docs):
    rng = Lcg(20261127)
    pool = []
    for i in range(5000):
        if i % 2 == 0:
            n = 2 + rng.next() % 3
            pool.append("".join(chr(0xAC00 + rng.next() % 11172) for _ in range(n)))
        else:
            n = 3 + rng.next() % 6
            word = []
            for _ in range(n):
                c = chr(ord("a") + rng.next() % 26)
                word.append(c.upper() if rng.next() % 5 == 0 else c)
            pool.append("".join(word))
    out = []
    for _ in range(docs):
        n = 5 + rng.next() % 36
        doc = []
        for k in range(n):
            idx = (rng.next() % 5000) * (rng.next() % 5000) // 5000
            if k > 0:
                doc.append(" ")
            doc.append(pool[idx])
            r = rng.next() % 10
            if r == 0:
                doc.append(",")
            elif r == 1:
                doc.append(".")
        out.append("".join(doc))
    return out


def main():
    texts = corpus(100_000)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        tok = Tokenizer()
        tok.fit_on_texts(texts)
        seqs = tok.texts_to_sequences(texts)
        pad_sequences(seqs, maxlen=40)
        times.append(time.perf_counter() - start)
    times.sort()
    print(f"{times[1]:.4f}")


if __name__ == "__main__":
    main()
