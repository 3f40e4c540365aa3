//! Typed handles: [`HookRef`] and [`FilterRef`], and the grammar of hook and filter names.
//!
//! The name grammar is described in [the bus module](crate::bus#name-grammar).

use std::fmt;
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
    name: &'static str,
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
    name: &'static str,
    value: PhantomData<fn() -> T>,
}

impl<E: ?Sized> HookRef<E> {
    /// A handle to hook `name`. The name's [grammar](crate::bus#name-grammar) is checked when a subscription is installed.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            event: PhantomData,
        }
    }

    /// The hook's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
}

impl<T: ?Sized> FilterRef<T> {
    /// A handle to filter `name`. The name's [grammar](crate::bus#name-grammar) is checked when a subscription is installed.
    pub const fn new(name: &'static str) -> Self {
        Self {
            name,
            value: PhantomData,
        }
    }

    /// The filter's name.
    pub const fn name(&self) -> &'static str {
        self.name
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
            .field("name", &self.name)
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
            .field("name", &self.name)
            .field("value", &std::any::type_name::<T>())
            .finish()
    }
}

/// Checks `name` against the grammar; the error is the reason, in words, quoting what is wrong.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
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

    proptest! {
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
