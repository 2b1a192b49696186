//! A segmented vector: elements live in fixed-size chunks, so growing never
//! copies what is already stored. A plain `Vec` of ten million orders would
//! stop the engine for a second at each doubling; this one never moves an
//! element. Serialized exactly like a `Vec` (a sequence).

use crate::checked::Bounded;
use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeSeq, Serializer};
use std::marker::PhantomData;
use std::ops::{Index, IndexMut};

const CHUNK_BITS: u32 = 14;
const CHUNK: usize = 1 << CHUNK_BITS;
const MASK: usize = CHUNK - 1;

#[derive(Clone, Debug)]
#[allow(clippy::len_without_is_empty)]
pub(crate) struct SegVec<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for SegVec<T> {
    fn default() -> Self {
        SegVec {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> SegVec<T> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn push(&mut self, value: T) {
        if self.len & MASK == 0 {
            self.chunks.push(Vec::with_capacity(CHUNK));
        }
        if let Some(last) = self.chunks.last_mut() {
            last.push(value);
            // Bounded by memory: the chunks cannot hold usize::MAX values.
            self.len = self.len.checked_add(1).bounded("segmented vector length");
        }
    }

    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i >> CHUNK_BITS)?.get(i & MASK)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.chunks.iter_mut().flatten()
    }
}

impl<T> Index<usize> for SegVec<T> {
    type Output = T;

    fn index(&self, i: usize) -> &T {
        &self.chunks[i >> CHUNK_BITS][i & MASK]
    }
}

impl<T> IndexMut<usize> for SegVec<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.chunks[i >> CHUNK_BITS][i & MASK]
    }
}

impl<T: PartialEq> PartialEq for SegVec<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl<T: Serialize> Serialize for SegVec<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len))?;
        for item in self.iter() {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for SegVec<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SeqVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for SeqVisitor<T> {
            type Value = SegVec<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SegVec<T>, A::Error> {
                let mut out = SegVec::default();
                while let Some(item) = seq.next_element()? {
                    out.push(item);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_seq(SeqVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_a_vec_across_chunk_boundaries() {
        let mut s = SegVec::default();
        let mut v = Vec::new();
        for i in 0..u32::try_from(CHUNK * 2 + 5).unwrap() {
            s.push(i);
            v.push(i);
        }
        assert_eq!(s.len(), v.len());
        assert_eq!(s[CHUNK], v[CHUNK]);
        assert_eq!(s.get(v.len()), None);
        s[3] = 99;
        v[3] = 99;
        assert!(s.iter().eq(v.iter()));
        // Same bytes as a Vec.
        assert_eq!(
            postcard::to_stdvec(&s).unwrap(),
            postcard::to_stdvec(&v).unwrap()
        );
        let back: SegVec<u32> = postcard::from_bytes(&postcard::to_stdvec(&v).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
