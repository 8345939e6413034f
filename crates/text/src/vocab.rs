//! The string → id table of the tokenizer's hot loops (counting in `fit_on_texts`, lookups in
//! `texts_to_sequences`).
//!
//! Ids are dense, in insertion order. Keys live in one byte arena; each 32-byte slot holds the
//! id, a 32-bit hash tag and (for keys up to 16 bytes, nearly every word) two words that fix the
//! key, so a lookup touches one cache line and compares two integers instead of calling `memcmp`. Measured on the
//! 100 000-document bench corpus, `IndexMap<String, _>` lookups and their `memcmp` were 40% of
//! the pipeline, and then the slot/entry/arena cache misses of a first version of this table.

use crate::token::{Token, WINDOW};

/// Insertion-ordered string → dense id table.
#[derive(Clone, Debug, Default)]
pub(crate) struct VocabTable {
    /// The length is a power of two (or zero).
    slots: Vec<Slot>,
    entries: Vec<Entry>,
    arena: Vec<u8>,
}

/// Keys up to this many bytes (nearly every word) are compared through their [`Probe`] words.
const SHORT: usize = WINDOW;

/// One hash-table slot: 32 bytes, two per cache line.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(32))]
struct Slot {
    /// `id + 1`; 0 when the slot is empty.
    id_plus_one: u32,
    tag: u32,
    len: u32,
    /// The caller's number for the key (its id unless set with `insert_value`).
    value: u32,
    /// The key's [`Probe::words`] when it is short.
    words: [u64; 2],
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    value: u32,
    start: u32,
    len: u32,
}

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

/// What a lookup computes once per key: its hash and, for a short key, two words that together
/// with the length determine every byte (so a match is two integer compares, no byte loop).
#[derive(Clone, Copy, Debug)]
struct Probe {
    hash: u64,
    words: [u64; 2],
}

impl Probe {
    #[inline]
    fn new(token: Token<'_>) -> Self {
        let bytes = token.as_str().as_bytes();
        let n = bytes.len();
        let mix = |h: u64, w: u64| (h.rotate_left(23) ^ w).wrapping_mul(MULTIPLIER);
        let mut h = (n as u64).wrapping_mul(MULTIPLIER);
        let words = if n <= SHORT {
            // The head: the key's bytes, zero padded.
            let words = token.head();
            h = mix(mix(h, words[0]), words[1]);
            words
        } else {
            let mut chunks = bytes.chunks_exact(8);
            for c in &mut chunks {
                h = mix(h, u64::from_le_bytes(c.try_into().expect("8 bytes")));
            }
            h = mix(h, u64::from_le_bytes(bytes[n - 8..].try_into().expect("8 bytes")));
            [0, 0]
        };
        Probe {
            hash: h ^ (h >> 29),
            words,
        }
    }

    fn slot(self, id: u32, value: u32, len: usize) -> Slot {
        Slot {
            id_plus_one: id + 1,
            tag: self.hash as u32,
            len: len as u32,
            value,
            words: self.words,
        }
    }
}

impl VocabTable {
    /// Keys stored.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The key of `id`.
    pub(crate) fn key(&self, id: u32) -> &str {
        let e = self.entries[id as usize];
        let bytes = &self.arena[e.start as usize..(e.start + e.len) as usize];
        // Every key was copied from a `&str`.
        std::str::from_utf8(bytes).expect("keys are UTF-8")
    }

    /// The slot where `key` is, or the empty slot where it would go.
    #[inline]
    fn find(&self, key: &[u8], probe: Probe) -> (usize, Option<u32>) {
        let mask = self.slots.len() - 1;
        let tag = probe.hash as u32;
        let mut slot = (probe.hash >> 32) as usize & mask;
        loop {
            let s = &self.slots[slot];
            if s.id_plus_one == 0 {
                return (slot, None);
            }
            if s.tag == tag && s.len as usize == key.len() {
                let id = s.id_plus_one - 1;
                let same = if key.len() <= SHORT {
                    s.words == probe.words
                } else {
                    let start = self.entries[id as usize].start as usize;
                    self.arena[start..start + key.len()] == *key
                };
                if same {
                    return (slot, Some(id));
                }
            }
            slot = (slot + 1) & mask;
        }
    }

    /// The id of `key`, if stored.
    #[cfg(test)]
    pub(crate) fn get(&self, key: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        self.find(key.as_bytes(), Probe::new(Token::new(key))).1
    }

    /// The value of `key` (see [`Self::insert_value`]), if stored: one slot read, no second
    /// table for the caller's numbers.
    #[inline]
    pub(crate) fn get_value(&self, key: Token<'_>) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        match self.find(key.as_str().as_bytes(), Probe::new(key)) {
            (slot, Some(_)) => Some(self.slots[slot].value),
            (_, None) => None,
        }
    }

    /// Stores `key` (if new) with `value` instead of its id.
    pub(crate) fn insert_value(&mut self, key: &str, value: u32) {
        let key = Token::new(key);
        let id = self.get_or_insert(key).0;
        self.entries[id as usize].value = value;
        let (slot, _) = self.find(key.as_str().as_bytes(), Probe::new(key));
        self.slots[slot].value = value;
    }

    /// The id of `key`, inserting it (with the next id) if new; `true` when inserted.
    #[inline]
    pub(crate) fn get_or_insert(&mut self, key: Token<'_>) -> (u32, bool) {
        if (self.entries.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let bytes = key.as_str().as_bytes();
        let probe = Probe::new(key);
        match self.find(bytes, probe) {
            (_, Some(id)) => (id, false),
            (slot, None) => {
                let id = u32::try_from(self.entries.len()).expect("fewer than 2^32 distinct words");
                let start = u32::try_from(self.arena.len()).expect("less than 4 GiB of distinct words");
                self.arena.extend_from_slice(bytes);
                self.entries.push(Entry {
                    value: id,
                    start,
                    len: bytes.len() as u32,
                });
                self.slots[slot] = probe.slot(id, id, bytes.len());
                (id, true)
            }
        }
    }

    fn grow(&mut self) {
        let capacity = (self.slots.len() * 2).max(64);
        let mut slots = vec![Slot::default(); capacity];
        let mask = capacity - 1;
        for (id, e) in (0..).zip(&self.entries) {
            let key = self.key(id);
            let probe = Probe::new(Token::new(key));
            let mut slot = (probe.hash >> 32) as usize & mask;
            while slots[slot].id_plus_one != 0 {
                slot = (slot + 1) & mask;
            }
            slots[slot] = probe.slot(id, e.value, key.len());
        }
        self.slots = slots;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        #[test]
        fn behaves_like_a_map_in_insertion_order(words in proptest::collection::vec(".{0,40}", 0..300)) {
            let mut table = VocabTable::default();
            let mut model: HashMap<String, u32> = HashMap::new();
            for w in &words {
                let next = model.len() as u32;
                let want_id = *model.entry(w.clone()).or_insert(next);
                let (id, inserted) = table.get_or_insert(Token::new(w));
                prop_assert_eq!(id, want_id);
                prop_assert_eq!(inserted, want_id == next);
            }
            prop_assert_eq!(table.len(), model.len());
            for (w, &id) in &model {
                prop_assert_eq!(table.get(w), Some(id));
                prop_assert_eq!(table.key(id), w.as_str());
            }
            prop_assert_eq!(table.get("\u{0}never inserted\u{0}"), None);
            // Values survive growth.
            let mut valued = VocabTable::default();
            for (i, w) in words.iter().enumerate() {
                valued.insert_value(w, 1000 + i as u32);
            }
            for w in &words {
                let last = words.iter().rposition(|x| x == w).unwrap();
                prop_assert_eq!(valued.get_value(Token::new(w)), Some(1000 + last as u32));
            }
        }
    }

    #[test]
    fn keys_differing_only_past_the_eighth_byte_are_distinct() {
        let mut table = VocabTable::default();
        let a = table.get_or_insert(Token::new("abcdefgh-1")).0;
        let b = table.get_or_insert(Token::new("abcdefgh-2")).0;
        assert_ne!(a, b);
        assert_eq!(table.get("abcdefgh-2"), Some(b));
        assert_eq!(table.get("abcdefgh-3"), None);
        assert_eq!(VocabTable::default().get("x"), None);
    }

    #[test]
    fn every_byte_of_a_key_takes_part_in_the_match() {
        // For each length, keys that differ in one byte only (at every position) stay distinct:
        // the overlapping loads of a short key cover all of its bytes.
        for n in 0..=24 {
            let mut table = VocabTable::default();
            let base = "a".repeat(n);
            let base_id = table.get_or_insert(Token::new(&base)).0;
            for i in 0..n {
                let mut other = base.clone().into_bytes();
                other[i] = b'b';
                let other = String::from_utf8(other).unwrap();
                assert_eq!(table.get(&other), None, "length {n}, byte {i}");
                let (id, inserted) = table.get_or_insert(Token::new(&other));
                assert!(inserted && id != base_id, "length {n}, byte {i}");
            }
            assert_eq!(table.get(&base), Some(base_id));
        }
    }
}
