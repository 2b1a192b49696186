//! Append-only storage in fixed-capacity chunks.
//!
//! A `Vec` that doubles copies (or remaps) everything it holds when it
//! grows: at tens of millions of entries that is a stall of milliseconds to
//! hundreds of milliseconds on the thread that appends. [`Chunked`] instead
//! keeps its elements in chunks of `2^BITS` elements, each allocated with
//! its full capacity once and never grown, so an element never moves once
//! pushed and a push costs at most one chunk allocation. Only the small
//! list of chunk pointers grows by doubling (24 bytes per chunk).
//!
//! Serialized as one flat sequence, exactly like a `Vec<T>`, so the format
//! does not depend on the chunk size.

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, Serializer};
use std::fmt;
use std::iter::{FlatMap, FusedIterator};
use std::marker::PhantomData;
use std::slice;

/// An append-only sequence in chunks of `2^BITS` elements.
///
/// Invariant: every chunk but the last holds exactly `2^BITS` elements, the
/// last holds between 1 and `2^BITS`, and every chunk was allocated with a
/// capacity of `2^BITS` (so pushing into it never reallocates).
pub(crate) struct Chunked<T, const BITS: u32> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T, const BITS: u32> Chunked<T, BITS> {
    /// Elements per chunk.
    pub(crate) const CHUNK: usize = {
        assert!(BITS < usize::BITS, "chunk size must fit in usize");
        1 << BITS
    };
    const MASK: usize = Self::CHUNK - 1;

    pub(crate) const fn new() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn push(&mut self, value: T) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < Self::CHUNK => last.push(value),
            _ => {
                let mut chunk = Vec::with_capacity(Self::CHUNK);
                chunk.push(value);
                self.chunks.push(chunk);
            }
        }
        // One element per push, and a journal holds at most ENTRIES_MAX
        // (2^34) of them: far from usize::MAX on a 64-bit target.
        self.len = self
            .len
            .checked_add(1)
            .expect("fewer than usize::MAX elements");
        debug_assert!(
            self.chunks
                .last()
                .is_some_and(|c| c.capacity() == Self::CHUNK),
            "a chunk never grows past its first allocation"
        );
    }

    pub(crate) fn get(&self, index: usize) -> Option<&T> {
        self.chunks
            .get(index >> BITS)
            .and_then(|chunk| chunk.get(index & Self::MASK))
    }

    pub(crate) fn last(&self) -> Option<&T> {
        self.chunks.last().and_then(|chunk| chunk.last())
    }

    pub(crate) fn iter(&self) -> Iter<'_, T> {
        Iter {
            inner: self
                .chunks
                .iter()
                .flat_map(Vec::as_slice as fn(&Vec<T>) -> &[T]),
            remaining: self.len,
        }
    }
}

impl<T, const BITS: u32> Default for Chunked<T, BITS> {
    fn default() -> Self {
        Self::new()
    }
}

/// A clone gets chunks of full capacity too (`Vec::clone` would allocate
/// only the length, and the next push into the last chunk would grow it).
impl<T: Clone, const BITS: u32> Clone for Chunked<T, BITS> {
    fn clone(&self) -> Self {
        let chunks = self
            .chunks
            .iter()
            .map(|chunk| {
                let mut copy = Vec::with_capacity(Self::CHUNK);
                copy.extend_from_slice(chunk);
                copy
            })
            .collect();
        Chunked {
            chunks,
            len: self.len,
        }
    }
}

impl<T: PartialEq, const BITS: u32> PartialEq for Chunked<T, BITS> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<T: Eq, const BITS: u32> Eq for Chunked<T, BITS> {}

/// Like a `Vec`'s: a flat list.
impl<T: fmt::Debug, const BITS: u32> fmt::Debug for Chunked<T, BITS> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// One flat sequence with its length up front, byte for byte what a
/// `Vec<T>` of the same elements serializes to.
impl<T: Serialize, const BITS: u32> Serialize for Chunked<T, BITS> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de, T: Deserialize<'de>, const BITS: u32> Deserialize<'de> for Chunked<T, BITS> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Flat<T, const BITS: u32>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>, const BITS: u32> Visitor<'de> for Flat<T, BITS> {
            type Value = Chunked<T, BITS>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a sequence")
            }

            // The length announced by the input is not trusted for
            // allocation: chunks are allocated as elements arrive.
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Self::Value, S::Error> {
                let mut out = Chunked::new();
                while let Some(value) = seq.next_element()? {
                    out.push(value);
                }
                Ok(out)
            }
        }

        deserializer.deserialize_seq(Flat(PhantomData))
    }
}

type ChunkIter<'a, T> = FlatMap<slice::Iter<'a, Vec<T>>, &'a [T], fn(&'a Vec<T>) -> &'a [T]>;

/// The elements of a [`Chunked`] in order.
pub(crate) struct Iter<'a, T> {
    inner: ChunkIter<'a, T>,
    remaining: usize,
}

impl<T> Clone for Iter<'_, T> {
    fn clone(&self) -> Self {
        Iter {
            inner: self.inner.clone(),
            remaining: self.remaining,
        }
    }
}

impl<'a, T> Iterator for Iter<'a, T> {
    type Item = &'a T;

    fn next(&mut self) -> Option<&'a T> {
        let item = self.inner.next()?;
        // An item was returned, so at least one remained.
        self.remaining = self
            .remaining
            .checked_sub(1)
            .expect("remaining counts items");
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<'a, T> DoubleEndedIterator for Iter<'a, T> {
    fn next_back(&mut self) -> Option<&'a T> {
        let item = self.inner.next_back()?;
        self.remaining = self
            .remaining
            .checked_sub(1)
            .expect("remaining counts items");
        Some(item)
    }
}

impl<T> ExactSizeIterator for Iter<'_, T> {}

impl<T> FusedIterator for Iter<'_, T> {}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]
mod tests {
    use super::*;

    /// Chunks of 4, so a few dozen elements cross many boundaries.
    type Small = Chunked<u64, 2>;

    fn filled(n: u64) -> Small {
        let mut c = Small::new();
        for i in 0..n {
            c.push(i * 10);
        }
        c
    }

    fn check_shape<T, const BITS: u32>(c: &Chunked<T, BITS>) {
        let chunk = Chunked::<T, BITS>::CHUNK;
        assert_eq!(c.chunks.len(), c.len().div_ceil(chunk));
        for (i, ch) in c.chunks.iter().enumerate() {
            assert_eq!(ch.capacity(), chunk, "chunk {i} capacity");
            if i + 1 < c.chunks.len() {
                assert_eq!(ch.len(), chunk, "chunk {i} is full");
            } else {
                assert!(!ch.is_empty(), "last chunk is not empty");
            }
        }
    }

    #[test]
    fn push_get_iter_across_chunk_boundaries() {
        for n in [0u64, 1, 3, 4, 5, 8, 9, 17, 33] {
            let c = filled(n);
            check_shape(&c);
            assert_eq!(c.len(), n as usize);
            for i in 0..n {
                assert_eq!(c.get(i as usize), Some(&(i * 10)));
            }
            assert_eq!(c.get(n as usize), None);
            assert_eq!(c.get(usize::MAX), None);
            assert_eq!(c.last(), n.checked_sub(1).map(|l| l * 10).as_ref());
            let forward: Vec<u64> = c.iter().copied().collect();
            assert_eq!(forward, (0..n).map(|i| i * 10).collect::<Vec<_>>());
            let backward: Vec<u64> = c.iter().rev().copied().collect();
            assert_eq!(backward, (0..n).rev().map(|i| i * 10).collect::<Vec<_>>());
            let mut it = c.iter();
            assert_eq!(it.len(), n as usize);
            if n > 0 {
                it.next();
                it.next_back();
                assert_eq!(it.len(), (n as usize).saturating_sub(2));
            }
        }
    }

    #[test]
    fn elements_never_move() {
        let mut c = Small::new();
        c.push(0);
        let first: *const u64 = c.get(0).unwrap();
        let mut fifth = None;
        for i in 1..1000 {
            c.push(i);
            if i == 5 {
                fifth = Some(c.get(5).unwrap() as *const u64);
            }
        }
        assert!(std::ptr::eq(first, c.get(0).unwrap()));
        assert!(std::ptr::eq(fifth.unwrap(), c.get(5).unwrap()));
        check_shape(&c);
    }

    #[test]
    fn clone_keeps_full_chunks_and_equality() {
        for n in [0u64, 1, 6, 8] {
            let c = filled(n);
            let mut d = c.clone();
            check_shape(&d);
            assert_eq!(c, d);
            d.push(7);
            check_shape(&d);
            assert_ne!(c, d);
            assert_eq!(format!("{:?}", filled(n)), format!("{:?}", c));
        }
        assert_eq!(format!("{:?}", filled(3)), "[0, 10, 20]");
    }

    #[test]
    fn serializes_like_a_vec_and_round_trips() {
        for n in [0u64, 1, 4, 5, 13] {
            let c = filled(n);
            let as_vec: Vec<u64> = c.iter().copied().collect();
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, serde_json::to_string(&as_vec).unwrap());
            let back: Small = serde_json::from_str(&json).unwrap();
            check_shape(&back);
            assert_eq!(back, c);
            // The format does not depend on the chunk size.
            let other: Chunked<u64, 3> = serde_json::from_str(&json).unwrap();
            check_shape(&other);
            assert_eq!(serde_json::to_string(&other).unwrap(), json);
        }
        assert!(serde_json::from_str::<Small>("{}").is_err());
    }
}
