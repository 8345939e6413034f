//! Times each phase of the benchmark pipeline on a synthetic corpus (a profiling aid).
use std::time::Instant;

use rnnlab_text::{PadOptions, Tokenizer, pad_sequences};

fn main() {
    let words: Vec<String> = (0..5000)
        .map(|i| {
            if i % 2 == 0 {
                format!("가나{}다", char::from_u32(0xAC00 + i).unwrap())
            } else {
                format!("Word{i}")
            }
        })
        .collect();
    let texts: Vec<String> = (0..100_000)
        .map(|d| {
            (0..22)
                .map(|k| words[(d * 31 + k * 17) % 5000].as_str())
                .collect::<Vec<_>>()
                .join(" ")
                + "."
        })
        .collect();
    let t = Instant::now();
    let mut tok = Tokenizer::default();
    tok.fit_on_texts(&texts).unwrap();
    println!("fit            {:?}", t.elapsed());
    let t = Instant::now();
    let seqs = tok.texts_to_sequences(&texts).unwrap();
    println!("encode serial  {:?}", t.elapsed());
    let t = Instant::now();
    let seqs2 = tok.texts_to_sequences_par(&texts).unwrap();
    println!("encode par     {:?}", t.elapsed());
    assert_eq!(seqs, seqs2);
    let t = Instant::now();
    let p = pad_sequences(&seqs, &PadOptions::default().maxlen(40)).unwrap();
    println!("pad            {:?} ({} values)", t.elapsed(), p.data.len());
}
