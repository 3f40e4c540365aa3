//! The maps the registry keeps internally, keyed by plugin names: foldhash instead of `SipHash` (a few times
//! faster on short keys, seeded per map, minimally DoS-resistant), which activation of many plugins feels.

/// A hash map with the registry's hasher.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
/// A hash set with the registry's hasher.
pub(crate) type HashSet<T> = std::collections::HashSet<T, foldhash::fast::RandomState>;
/// An insertion-ordered map with the registry's hasher.
pub(crate) type IndexMap<K, V> = indexmap::IndexMap<K, V, foldhash::fast::RandomState>;

/// An empty [`HashMap`] with room for `capacity` entries.
pub(crate) fn map_with_capacity<K, V>(capacity: usize) -> HashMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, foldhash::fast::RandomState::default())
}

/// An empty [`IndexMap`] with room for `capacity` entries.
pub(crate) fn index_map_with_capacity<K, V>(capacity: usize) -> IndexMap<K, V> {
    IndexMap::with_capacity_and_hasher(capacity, foldhash::fast::RandomState::default())
}
