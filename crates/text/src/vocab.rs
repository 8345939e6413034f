//! The string → id table of the tokenizer's hot loops (counting in `fit_on_texts`, lookups in
//! `texts_to_sequences`).
//!
//! Ids are dense, in insertion order. Keys live in one byte arena; each 32-byte slot holds the
//! id, a 32-bit hash tag and (for keys up to 20 bytes, nearly every word) the key itself, so a
//! lookup touches one cache line and compares without a `memcmp` call. Measured on the
//! 100 000-document bench corpus, `IndexMap<String, _>` lookups and their `memcmp` were 40% of
//! the pipeline, and then the slot/entry/arena cache misses of a first version of this table.

/// Insertion-ordered string → dense id table.
#[derive(Clone, Debug, Default)]
pub(crate) struct VocabTable {
    /// The length is a power of two (or zero).
    slots: Vec<Slot>,
    entries: Vec<Entry>,
    arena: Vec<u8>,
}

/// Bytes of a key kept in its slot.
const INLINE: usize = 16;

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
    /// The key when `len <= INLINE`.
    inline: [u8; INLINE],
}

impl Slot {
    fn new(h: u64, id: u32, value: u32, key: &[u8]) -> Self {
        let mut inline = [0u8; INLINE];
        let n = key.len().min(INLINE);
        inline[..n].copy_from_slice(&key[..n]);
        Slot {
            id_plus_one: id + 1,
            tag: h as u32,
            len: key.len() as u32,
            value,
            inline,
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    value: u32,
    start: u32,
    len: u32,
}

const MULTIPLIER: u64 = 0x9E37_79B9_7F4A_7C15;

/// A fast hash of short byte strings: eight bytes per multiply, length mixed in.
#[inline]
fn hash(bytes: &[u8]) -> u64 {
    let mut h = (bytes.len() as u64).wrapping_mul(MULTIPLIER);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let word = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        h = (h.rotate_left(23) ^ word).wrapping_mul(MULTIPLIER);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // The tail without a copy: overlapping loads (the length is mixed in already).
        let n = rest.len();
        let word = if bytes.len() >= 8 {
            u64::from_le_bytes(bytes[bytes.len() - 8..].try_into().expect("8 bytes"))
        } else if n >= 4 {
            let lo = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes"));
            let hi = u32::from_le_bytes(rest[n - 4..].try_into().expect("4 bytes"));
            u64::from(lo) | (u64::from(hi) << 32)
        } else {
            u64::from(rest[0]) | (u64::from(rest[n / 2]) << 8) | (u64::from(rest[n - 1]) << 16)
        };
        h = (h.rotate_left(23) ^ word).wrapping_mul(MULTIPLIER);
    }
    h ^ (h >> 29)
}

/// Byte equality without a library call for short keys (the lengths are already equal).
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() > 32 {
        return a == b;
    }
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        if x.try_into().map(u64::from_ne_bytes).ok() != y.try_into().map(u64::from_ne_bytes).ok() {
            return false;
        }
    }
    ca.remainder().iter().zip(cb.remainder()).all(|(x, y)| x == y)
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
    fn find(&self, key: &[u8], h: u64) -> (usize, Option<u32>) {
        let mask = self.slots.len() - 1;
        let tag = h as u32;
        let mut slot = (h >> 32) as usize & mask;
        loop {
            let s = &self.slots[slot];
            if s.id_plus_one == 0 {
                return (slot, None);
            }
            if s.tag == tag && s.len as usize == key.len() {
                let id = s.id_plus_one - 1;
                let stored = if key.len() <= INLINE {
                    &s.inline[..key.len()]
                } else {
                    let start = self.entries[id as usize].start as usize;
                    &self.arena[start..start + key.len()]
                };
                if same(stored, key) {
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
        self.find(key.as_bytes(), hash(key.as_bytes())).1
    }

    /// The value of `key` (see [`Self::insert_value`]), if stored: one slot read, no second
    /// table for the caller's numbers.
    #[inline]
    pub(crate) fn get_value(&self, key: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        match self.find(key.as_bytes(), hash(key.as_bytes())) {
            (slot, Some(_)) => Some(self.slots[slot].value),
            (_, None) => None,
        }
    }

    /// Stores `key` (if new) with `value` instead of its id.
    pub(crate) fn insert_value(&mut self, key: &str, value: u32) {
        let id = self.get_or_insert(key).0;
        self.entries[id as usize].value = value;
        let (slot, _) = self.find(key.as_bytes(), hash(key.as_bytes()));
        self.slots[slot].value = value;
    }

    /// The id of `key`, inserting it (with the next id) if new; `true` when inserted.
    #[inline]
    pub(crate) fn get_or_insert(&mut self, key: &str) -> (u32, bool) {
        if (self.entries.len() + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let bytes = key.as_bytes();
        let h = hash(bytes);
        match self.find(bytes, h) {
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
                self.slots[slot] = Slot::new(h, id, id, bytes);
                (id, true)
            }
        }
    }

    fn grow(&mut self) {
        let capacity = (self.slots.len() * 2).max(64);
        self.slots = vec![Slot::default(); capacity];
        let mask = capacity - 1;
        for (id, e) in self.entries.iter().enumerate() {
            let key = &self.arena[e.start as usize..(e.start + e.len) as usize];
            let h = hash(key);
            let mut slot = (h >> 32) as usize & mask;
            while self.slots[slot].id_plus_one != 0 {
                slot = (slot + 1) & mask;
            }
            self.slots[slot] = Slot::new(h, id as u32, e.value, key);
        }
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
                let (id, inserted) = table.get_or_insert(w);
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
                prop_assert_eq!(valued.get_value(w), Some(1000 + last as u32));
            }
        }
    }

    #[test]
    fn keys_differing_only_past_the_eighth_byte_are_distinct() {
        let mut table = VocabTable::default();
        let a = table.get_or_insert("abcdefgh-1").0;
        let b = table.get_or_insert("abcdefgh-2").0;
        assert_ne!(a, b);
        assert_eq!(table.get("abcdefgh-2"), Some(b));
        assert_eq!(table.get("abcdefgh-3"), None);
        assert_eq!(VocabTable::default().get("x"), None);
    }
}
