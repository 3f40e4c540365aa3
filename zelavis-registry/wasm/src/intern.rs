//! Hook and filter names read from modules, as the `&'static str` the bus's typed handles hold.
//!
//! Each distinct valid name is leaked once and reused by every later module: the set grows with the number of
//! distinct names ever loaded (each at most [`MAX_ENTRY_NAME_LEN`](crate::abi::MAX_ENTRY_NAME_LEN) bytes, each
//! checked against the bus grammar first), not with the number of loads.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock, PoisonError};

/// The one copy of `name`.
pub(crate) fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(known) = names.get(name) {
        return known;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_copy_per_name() {
        let a = super::intern("order.created");
        let b = super::intern(&String::from("order.created"));
        assert!(std::ptr::eq(a, b));
    }
}
