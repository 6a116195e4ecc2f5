//! [`FlatSet`]: an ordered set in one sorted `Vec`, for the state's many small per-key sets.
//!
//! Most keys of the state's indexes (an object's updates, an (object, agency)'s estimates, an
//! update's retractions) hold one to a few elements. A `BTreeSet` allocates a whole leaf node
//! (eleven slots) for its first element; with 48-byte ranks that is over half a kilobyte per
//! key, the largest single cost of a large catalogue in memory. A sorted `Vec` holds exactly
//! what it has, iterates in order like a `BTreeSet`, and finds by binary search. Insertion and
//! removal move the tail, which is cheap at the sizes these sets have (an object's history).

/// An ordered set of `T` kept in a sorted, deduplicated `Vec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatSet<T>(Vec<T>);

impl<T> Default for FlatSet<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<T: Ord> FlatSet<T> {
    /// Inserts `value`; returns whether it was absent.
    pub fn insert(&mut self, value: T) -> bool {
        match self.0.binary_search(&value) {
            Ok(_) => false,
            Err(at) => {
                if self.0.len() == self.0.capacity() {
                    // Grow by one or two, not by doubling: most sets stay tiny.
                    self.0.reserve_exact(1 + self.0.len() / 4);
                }
                self.0.insert(at, value);
                true
            }
        }
    }

    /// Removes `value`; returns whether it was present.
    pub fn remove(&mut self, value: &T) -> bool {
        match self.0.binary_search(value) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    pub fn contains(&self, value: &T) -> bool {
        self.0.binary_search(value).is_ok()
    }
}

impl<T> FlatSet<T> {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The elements in ascending order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }
}

impl<'a, T> IntoIterator for &'a FlatSet<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;

    use super::FlatSet;

    proptest! {
        /// Any sequence of inserts and removes leaves the same set, in the same order, with
        /// the same answers, as a `BTreeSet`.
        #[test]
        fn behaves_like_a_btreeset(ops in proptest::collection::vec((any::<bool>(), 0u8..40), 0..300)) {
            let mut flat = FlatSet::default();
            let mut tree = BTreeSet::new();
            for (insert, v) in ops {
                if insert {
                    prop_assert_eq!(flat.insert(v), tree.insert(v));
                } else {
                    prop_assert_eq!(flat.remove(&v), tree.remove(&v));
                }
                prop_assert_eq!(flat.contains(&v), tree.contains(&v));
                prop_assert_eq!(flat.len(), tree.len());
            }
            prop_assert!(flat.iter().eq(tree.iter()));
            prop_assert!(flat.iter().rev().eq(tree.iter().rev()));
        }
    }
}
