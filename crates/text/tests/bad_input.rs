//! Bad input gets a typed error, never a panic, an abort or a silently wrong encoding.
use proptest::prelude::*;
use rnnlab_text::{
    MAX_ELEMENTS, MatrixMode, PadOptions, Padded, Side, TextError, Tokenizer, TokenizerConfig, pad_sequences,
};

fn fitted() -> Tokenizer {
    let mut tok = Tokenizer::new(TokenizerConfig::default().oov_token("<oov>"));
    tok.fit_on_texts(["the cat sat", "the dog sat down", "a bird"]).unwrap();
    tok
}

/// `fitted()`'s JSON with one of the inner dictionaries replaced.
fn with_inner(key: &str, inner: &str) -> String {
    let mut root: serde_json::Value = serde_json::from_str(&fitted().to_json()).unwrap();
    root["config"][key] = serde_json::Value::String(inner.to_string());
    root.to_string()
}

fn json_error(json: &str) -> String {
    match Tokenizer::from_json(json) {
        Err(TextError::Json(m)) => m,
        other => panic!("expected a JSON error, got {other:?}"),
    }
}

#[test]
fn sizes_that_would_abort_are_errors() {
    let tok = Tokenizer::new(TokenizerConfig::default().num_words(usize::MAX));
    let err = tok.texts_to_matrix(["a b"], MatrixMode::Count).unwrap_err();
    assert!(matches!(err, TextError::TooLarge { what: "matrix", .. }), "{err:?}");
    let huge_from_json =
        with_inner("word_counts", r#"{"the": 2}"#).replace("\"num_words\":null", "\"num_words\":1000000000000");
    if let Ok(tok) = Tokenizer::from_json(&huge_from_json) {
        assert!(tok.texts_to_matrix(["the"], MatrixMode::Binary).is_err());
    }
    let seqs = vec![vec![1i32, 2], vec![3]];
    for maxlen in [1usize << 40, usize::MAX / 2 + 1, usize::MAX] {
        let err = pad_sequences(&seqs, &PadOptions::default().maxlen(maxlen)).unwrap_err();
        assert!(
            matches!(
                err,
                TextError::TooLarge {
                    limit: MAX_ELEMENTS,
                    ..
                }
            ),
            "{maxlen}: {err:?}"
        );
    }
}

#[test]
fn self_contradicting_vocabularies_are_refused() {
    // Index 0 is the padding id.
    let zero = with_inner("word_index", r#"{"<oov>": 1, "the": 0}"#);
    assert!(json_error(&zero).contains("index 0"));
    // Two words, one index.
    let twice = fitted().to_json().replace(r#"\"cat\": 4"#, r#"\"cat\": 3"#);
    assert!(json_error(&twice).contains("same index"), "{}", json_error(&twice));
    // index_word that is not the inverse of word_index.
    let swapped = fitted().to_json().replace(r#"\"4\": \"cat\""#, r#"\"4\": \"dog\""#);
    assert!(json_error(&swapped).contains("index_word"));
    // Counts for a word that has no index (and the vocabulary was not trimmed).
    let unknown = fitted()
        .to_json()
        .replace(r#"{\"the\": 2"#, r#"{\"zebra\": 1, \"the\": 2"#)
        .replace(r#"\"word_docs\": \"{"#, r#"\"word_docs\": \"{\"zebra\": 1, "#);
    assert!(json_error(&unknown).contains("zebra"), "{}", json_error(&unknown));
    // The untouched JSON loads.
    assert!(Tokenizer::from_json(&fitted().to_json()).is_ok());
}

#[test]
fn a_trimmed_vocabulary_round_trips() {
    let mut tok = Tokenizer::new(TokenizerConfig::default().num_words(3).trim_vocabulary(true));
    tok.fit_on_texts(["a a a b b c d"]).unwrap();
    let back = Tokenizer::from_json(&tok.to_json()).unwrap();
    assert_eq!(back.to_json(), tok.to_json());
    assert_eq!(
        back.texts_to_sequences(["a b c d"]).unwrap(),
        tok.texts_to_sequences(["a b c d"]).unwrap()
    );
}

#[test]
fn a_hand_built_padded_batch_answers_is_real_without_panicking() {
    let p = Padded {
        rows: 1,
        cols: 3,
        features: 1,
        data: vec![0, 1, 2],
        lengths: vec![9],
        padding: Side::Pre,
    };
    assert!(!p.is_real(5, 0));
    assert!(!p.is_real(0, 3));
    assert!(p.is_real(0, 0));
    assert_eq!(p.mask(), vec![true, true, true]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// A real tokenizer JSON with bytes overwritten, inserted or removed: an error or a tokenizer
    /// that encodes without panicking.
    #[test]
    fn mutated_tokenizer_json(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4)) {
        let mut bytes = fitted().to_json().into_bytes();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
        }
        let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
        if let Ok(tok) = Tokenizer::from_json(&text) {
            let seqs = tok.texts_to_sequences(["the cat", "zebra a"]);
            if let Ok(seqs) = seqs {
                prop_assert!(seqs.iter().flatten().all(|&i| i > 0));
                let _ = tok.sequences_to_texts(&seqs);
            }
            let _ = tok.texts_to_matrix(["the cat"], MatrixMode::Tfidf);
        }
    }
}
