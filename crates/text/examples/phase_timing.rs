//! Times each phase of the text benchmark (`benches/corpus.rs`) on its corpus: a profiling aid.
use std::time::Instant;

use rnnlab_text::{PadOptions, Tokenizer, pad_sequences};

#[path = "../benches/support/corpus_gen.rs"]
mod corpus_gen;

fn main() {
    let texts = corpus_gen::corpus(100_000);
    for _ in 0..3 {
        let t = Instant::now();
        let mut tok = Tokenizer::default();
        tok.fit_on_texts(&texts).unwrap();
        let fit = t.elapsed();
        let t = Instant::now();
        let seqs = tok.texts_to_sequences(&texts).unwrap();
        let serial = t.elapsed();
        let t = Instant::now();
        let par = tok.texts_to_sequences_par(&texts).unwrap();
        let parallel = t.elapsed();
        assert_eq!(seqs, par);
        let t = Instant::now();
        let p = pad_sequences(&seqs, &PadOptions::default().maxlen(40)).unwrap();
        println!(
            "fit {fit:?}, encode serial {serial:?}, parallel {parallel:?}, pad {:?} ({} values)",
            t.elapsed(),
            p.data.len()
        );
    }
}
