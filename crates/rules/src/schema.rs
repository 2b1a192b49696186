//! Feature schema, values and sources.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The type of a feature or an expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Type {
    /// A 64-bit signed integer (yen, counts, basis points, seconds).
    Int,
    /// A boolean.
    Bool,
    /// A short string (a category, a channel).
    Str,
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Type::Int => "int",
            Type::Bool => "bool",
            Type::Str => "str",
        })
    }
}

/// The index of a feature in a [`Schema`] (and in a feature vector).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FeatureId(pub u32);

impl FeatureId {
    /// The index as `usize`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A feature value (or an intermediate value of an expression).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(&'a str),
}

impl Value<'_> {
    /// The value's type.
    pub fn ty(&self) -> Type {
        match self {
            Value::Int(_) => Type::Int,
            Value::Bool(_) => Type::Bool,
            Value::Str(_) => Type::Str,
        }
    }
}

/// Where feature values come from at evaluation time.
///
/// `None` (or a value of another type than the schema says) makes every
/// rule that reads the feature *not evaluable*: it does not fire and is
/// listed in [`crate::Evaluation::errors`].
pub trait Features {
    /// The value of feature `id`.
    fn get(&self, id: FeatureId) -> Option<Value<'_>>;
}

impl Features for [Value<'_>] {
    fn get(&self, id: FeatureId) -> Option<Value<'_>> {
        <[Value<'_>]>::get(self, id.index()).copied()
    }
}

impl Features for Vec<Value<'_>> {
    fn get(&self, id: FeatureId) -> Option<Value<'_>> {
        self.as_slice().get(id.index()).copied()
    }
}

/// Feature names and types, in id order (the engine's feature vector order).
#[derive(Clone, Debug, Default)]
pub struct Schema {
    names: Vec<(String, Type)>,
    by_name: HashMap<String, FeatureId>,
}

impl Schema {
    /// A schema from `(name, type)` pairs; feature `i` has id `FeatureId(i)`.
    /// A repeated name keeps its first id.
    pub fn new(features: &[(&str, Type)]) -> Schema {
        let mut schema = Schema::default();
        for (name, ty) in features {
            let id = FeatureId(u32::try_from(schema.names.len()).unwrap_or(u32::MAX));
            schema.by_name.entry((*name).to_owned()).or_insert(id);
            schema.names.push(((*name).to_owned(), *ty));
        }
        schema
    }

    /// The id of a feature name.
    pub fn id(&self, name: &str) -> Option<FeatureId> {
        self.by_name.get(name).copied()
    }

    /// The name of a feature.
    pub fn name(&self, id: FeatureId) -> Option<&str> {
        self.names.get(id.index()).map(|(n, _)| n.as_str())
    }

    /// The type of a feature.
    pub fn ty(&self, id: FeatureId) -> Option<Type> {
        self.names.get(id.index()).map(|(_, t)| *t)
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the schema has no feature.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Every `(name, type)`, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (FeatureId, &str, Type)> {
        self.names.iter().enumerate().map(|(i, (n, t))| {
            (
                FeatureId(u32::try_from(i).unwrap_or(u32::MAX)),
                n.as_str(),
                *t,
            )
        })
    }

    /// The closest known name to `name`, if close enough to suggest.
    pub fn suggest(&self, name: &str) -> Option<&str> {
        let limit = (name.chars().count() / 3).max(2);
        self.names
            .iter()
            .map(|(n, _)| (levenshtein(n, name), n.as_str()))
            .filter(|(d, _)| *d <= limit)
            .min_by_key(|(d, _)| *d)
            .map(|(_, n)| n)
    }
}

/// Edit distance (insert, delete, substitute) between two strings, in chars.
pub(crate) fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len().saturating_add(1)];
    for (i, ca) in a.chars().enumerate() {
        if let Some(c0) = cur.first_mut() {
            *c0 = i.saturating_add(1);
        }
        for (j, cb) in b.iter().enumerate() {
            let sub = prev
                .get(j)
                .copied()
                .unwrap_or(0)
                .saturating_add(usize::from(ca != *cb));
            let del = prev
                .get(j.saturating_add(1))
                .copied()
                .unwrap_or(0)
                .saturating_add(1);
            let ins = cur.get(j).copied().unwrap_or(0).saturating_add(1);
            if let Some(c) = cur.get_mut(j.saturating_add(1)) {
                *c = sub.min(del).min(ins);
            }
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.last().copied().unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::panic, clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_suggestion() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        let s = Schema::new(&[("cart.total", Type::Int), ("account.age_days", Type::Int)]);
        assert_eq!(s.suggest("cart.totl"), Some("cart.total"));
        assert_eq!(s.suggest("acount.age_days"), Some("account.age_days"));
        assert_eq!(s.suggest("zzz"), None);
        assert_eq!(s.id("cart.total"), Some(FeatureId(0)));
    }
}
