//! Typed handles: [`HookRef`] and [`FilterRef`], and the grammar of hook and filter names.
//!
//! The name grammar is described in [the bus module](crate::bus#name-grammar).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

/// A typed handle to a hook: a name and the event type its handlers receive.
///
/// Publish one as a `const` next to the event type, so emitters and handlers agree on both at compile time:
///
/// ```
/// use zelavis_core::bus::HookRef;
///
/// /// Emitted after an order is stored.
/// pub struct OrderCreated { pub id: u64 }
///
/// pub const ORDER_CREATED: HookRef<OrderCreated> = HookRef::new("order.created");
/// assert_eq!(ORDER_CREATED.name(), "order.created");
/// ```
pub struct HookRef<E: ?Sized> {
    key: NameKey,
    // `fn() -> E`: the handle neither owns an `E` nor borrows one, so it is `Copy`, `Send` and `Sync` for any `E`.
    event: PhantomData<fn() -> E>,
}

/// A typed handle to a filter: a name and the value type its filters transform.
///
/// ```
/// use zelavis_core::bus::FilterRef;
///
/// /// An order total, in cents.
/// pub struct Price(pub u64);
///
/// pub const PRICE: FilterRef<Price> = FilterRef::new("price.total");
/// assert_eq!(PRICE.name(), "price.total");
/// ```
pub struct FilterRef<T: ?Sized> {
    key: NameKey,
    value: PhantomData<fn() -> T>,
}

impl<E: ?Sized> HookRef<E> {
    /// A handle to hook `name`. The name's [grammar](crate::bus#name-grammar) is checked when a subscription is installed.
    pub const fn new(name: &'static str) -> Self {
        Self {
            key: NameKey::new(name),
            event: PhantomData,
        }
    }

    /// The hook's name.
    pub const fn name(&self) -> &'static str {
        self.key.name
    }

    pub(crate) const fn key(&self) -> NameKey {
        self.key
    }
}

impl<T: ?Sized> FilterRef<T> {
    /// A handle to filter `name`. The name's [grammar](crate::bus#name-grammar) is checked when a subscription is installed.
    pub const fn new(name: &'static str) -> Self {
        Self {
            key: NameKey::new(name),
            value: PhantomData,
        }
    }

    /// The filter's name.
    pub const fn name(&self) -> &'static str {
        self.key.name
    }

    pub(crate) const fn key(&self) -> NameKey {
        self.key
    }
}

// Manual impls: derives would require `E: Clone` (or `Debug`), which a handle does not need.
impl<E: ?Sized> Clone for HookRef<E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E: ?Sized> Copy for HookRef<E> {}

impl<E: ?Sized> fmt::Debug for HookRef<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookRef")
            .field("name", &self.key.name)
            .field("event", &std::any::type_name::<E>())
            .finish()
    }
}

impl<T: ?Sized> Clone for FilterRef<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: ?Sized> Copy for FilterRef<T> {}

impl<T: ?Sized> fmt::Debug for FilterRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FilterRef")
            .field("name", &self.key.name)
            .field("value", &std::any::type_name::<T>())
            .finish()
    }
}

/// A hook or filter name with its hash, computed once by the `const` constructor of the handle, so a
/// dispatch looks its name up without hashing the text.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameKey {
    pub(crate) name: &'static str,
    hash: u64,
}

impl NameKey {
    pub(crate) const fn new(name: &'static str) -> Self {
        // FNV-1a, then the `fmix64` finalizer of MurmurHash3 so every bit of the result depends on every byte.
        let bytes = name.as_bytes();
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut index = 0;
        while index < bytes.len() {
            hash ^= bytes[index] as u64;
            hash = hash.wrapping_mul(0x0100_0000_01b3);
            index += 1;
        }
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        hash ^= hash >> 33;
        Self { name, hash }
    }
}

impl PartialEq for NameKey {
    fn eq(&self, other: &Self) -> bool {
        // Handles made from the same constant usually share the text, which skips comparing it.
        self.hash == other.hash && (std::ptr::eq(self.name, other.name) || same_text(self.name, other.name))
    }
}

/// `a == b`, inline: names are short, and a call to `memcmp` costs more than comparing them word by word.
#[inline]
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let (a_words, b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    let (a_tail, b_tail) = (a_words.remainder(), b_words.remainder());
    let word = |chunk: &[u8]| <[u8; 8]>::try_from(chunk).map(u64::from_ne_bytes).unwrap_or_default();
    a_words.zip(b_words).all(|(x, y)| word(x) == word(y)) && a_tail.iter().zip(b_tail).all(|(x, y)| x == y)
}

impl Eq for NameKey {}

impl Hash for NameKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// The hasher of the name tables: [`NameKey`] hashes itself, so this passes its hash through.
#[derive(Default, Clone, Copy)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Not reached by `NameKey`; kept correct for any other key.
        for &byte in bytes {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Checks `name` against the [hook and filter name grammar](crate::bus#name-grammar); the error is the reason,
/// in words, quoting what is wrong. The bus applies it when a subscription is installed; hosts that read names
/// from outside (a WebAssembly module's manifest) apply it before making a handle.
///
/// ```
/// use zelavis_core::bus::check_name;
///
/// assert!(check_name("order.created").is_ok());
/// assert_eq!(check_name("order..created").unwrap_err(), "empty segment before the '.' at byte 6");
/// ```
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".to_owned());
    }
    let mut segment_start = 0;
    for (index, ch) in name.char_indices() {
        match ch {
            'a'..='z' | '0'..='9' | '-' | '_' => {}
            '.' if index == segment_start => {
                return Err(format!("empty segment before the '.' at byte {index}"));
            }
            '.' => segment_start = index + 1,
            'A'..='Z' => {
                return Err(format!("uppercase letter {ch:?} at byte {index}; names are lowercase"));
            }
            _ => {
                return Err(format!(
                    "invalid character {ch:?} at byte {index}; allowed are a-z, 0-9, '-', '_' and '.' between segments"
                ));
            }
        }
    }
    if segment_start == name.len() {
        return Err("empty segment after the last '.'".to_owned());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_dotted_lowercase_names() {
        for ok in [
            "order.created",
            "price.total",
            "cart.line_item.added",
            "v2",
            "a-b.c_d.0",
        ] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let reason = |name: &str| check_name(name).unwrap_err();
        assert_eq!(reason(""), "the name is empty");
        assert!(reason("Order.created").contains("uppercase letter 'O' at byte 0"));
        assert!(reason("order..created").contains("empty segment before the '.' at byte 6"));
        assert!(reason(".order").contains("byte 0"));
        assert!(reason("order.").contains("after the last '.'"));
        assert!(reason("order created").contains("invalid character ' ' at byte 5"));
        assert!(reason("ordér").contains("invalid character 'é'"));
    }

    #[test]
    fn handles_are_const_copy_and_debug() {
        struct NotClone;
        const HOOK: HookRef<NotClone> = HookRef::new("a.b");
        const FILTER: FilterRef<NotClone> = FilterRef::new("c.d");
        let (hook, filter) = (HOOK, FILTER);
        let (copy, other) = (hook, filter);
        assert_eq!((copy.name(), other.name()), (hook.name(), filter.name()));
        assert!(format!("{hook:?}").contains("\"a.b\""));
        assert!(format!("{filter:?}").contains("NotClone"));
    }

    #[test]
    fn keys_compare_by_text_and_hash_apart() {
        let owned = String::from("order.created");
        let leaked: &'static str = Box::leak(owned.into_boxed_str());
        let (a, b) = (NameKey::new("order.created"), NameKey::new(leaked));
        assert!(!std::ptr::eq(a.name, b.name));
        assert_eq!(a, b);
        assert_ne!(a, NameKey::new("order.create"));
        let hashes: std::collections::HashSet<u64> = ["a", "b", "ab", "ba", "order.created", ""]
            .into_iter()
            .map(|name| NameKey::new(name).hash)
            .collect();
        assert_eq!(hashes.len(), 6);
    }

    proptest! {
        #[test]
        fn same_text_is_string_equality(a in "[a-c.]{0,20}", b in "[a-c.]{0,20}") {
            prop_assert_eq!(same_text(&a, &b), a == b);
            prop_assert!(same_text(&a, &a.clone()));
        }

        #[test]
        fn check_name_accepts_exactly_the_grammar(text in "[a-zA-Z0-9._ -]{0,24}") {
            let expected = !text.is_empty()
                && text.split('.').all(|segment| {
                    !segment.is_empty()
                        && segment.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
                });
            prop_assert_eq!(check_name(&text).is_ok(), expected);
        }
    }
}
