//! Filters: [`Bus::apply`] passes a value through every filter of a name in priority order and returns
//! the result as [`Filtered`].
//!
//! A filter that fails or panics is skipped: the value it was given passes on unchanged to the next one,
//! and the failure is recorded and reported to the failure sink.

use std::sync::Arc;

use super::bus::Bus;
use super::error::{Fault, HandlerError, HandlerFailure, TypeMismatch};
use super::handle::FilterRef;
use super::snapshot::Lookup;
use super::subscription::SubscriptionKind;
use crate::panic::catch;

const KIND: SubscriptionKind = SubscriptionKind::Filter;

type Filter<T> = dyn Fn(&T) -> Result<T, HandlerError> + Send + Sync;

/// An installed filter.
pub(crate) struct FilterFn<T>(pub(crate) Arc<Filter<T>>);

// Manual impl: a derive would require `T: Clone`.
impl<T> Clone for FilterFn<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

/// The result of [`Bus::apply`]: the filtered value and the filters that were skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filtered<T> {
    /// The value after every filter that succeeded.
    pub value: T,
    /// Filters that returned an error or panicked, in the order they ran; each was skipped.
    pub failures: Vec<HandlerFailure>,
    /// Set when the filter's subscriptions take another value type; then nothing ran and `value` is the input.
    /// Boxed: it is rare, and keeping the result small keeps dispatch fast.
    pub mismatch: Option<Box<TypeMismatch>>,
}

impl<T> Filtered<T> {
    fn unchanged(value: T) -> Self {
        Self {
            value,
            failures: Vec::new(),
            mismatch: None,
        }
    }

    /// Whether every filter succeeded and the value type matched (also true when no filter is installed).
    pub fn is_ok(&self) -> bool {
        self.failures.is_empty() && self.mismatch.is_none()
    }

    /// The value, dropping the report.
    pub fn into_value(self) -> T {
        self.value
    }
}

impl Bus {
    /// Passes `value` through every filter of `filter`, lower priority first (ties in installation order).
    /// Never panics: failing and panicking filters are skipped and recorded.
    ///
    /// ```
    /// use zelavis_core::bus::{Bus, FilterRef, Subscription};
    /// use zelavis_core::name::Name;
    ///
    /// /// An order total, in cents.
    /// const PRICE: FilterRef<u64> = FilterRef::new("price.total");
    ///
    /// let bus = Bus::new();
    /// bus.install(&Name::parse("discounts")?, vec![
    ///     Subscription::filter(&PRICE, 10, |cents| Ok(cents + 500)),  // shipping, after the discount
    ///     Subscription::filter(&PRICE, 0, |cents| Ok(cents * 9 / 10)), // 10% off
    ///     Subscription::filter(&PRICE, 5, |_| Err("no coupon service".into())),
    /// ])?;
    ///
    /// let price = bus.apply(&PRICE, 10_000);
    /// assert_eq!(price.value, 9_500);
    /// assert_eq!(price.failures[0].message, "no coupon service");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn apply<T: 'static>(&self, filter: &FilterRef<T>, value: T) -> Filtered<T> {
        let key = filter.key();
        let name = key.name;
        let snapshot = self.snapshot();
        let list = match snapshot.lookup::<FilterFn<T>>(KIND, &key) {
            Lookup::Missing => return Filtered::unchanged(value),
            Lookup::Mismatch(expected) => {
                return Filtered {
                    mismatch: Some(Box::new(TypeMismatch {
                        kind: KIND,
                        name,
                        expected,
                        found: std::any::type_name::<T>(),
                    })),
                    ..Filtered::unchanged(value)
                };
            }
            Lookup::Found(list) => list,
        };
        let mut value = value;
        let mut failures = Vec::new();
        let entries = &list.entries[..];
        // One `catch_unwind` around the run of filters, not one per filter: when a filter panics, the value it
        // was given passes on and the run resumes after it.
        let mut next = 0;
        loop {
            let mut at = next;
            let run = catch(|| {
                while let Some(entry) = entries.get(at) {
                    let FilterFn(filter) = &entry.handler;
                    at += 1;
                    match filter(&value) {
                        Ok(filtered) => value = filtered,
                        Err(error) => self.record(&entry.owner, KIND, name, Fault::Returned(error), &mut failures),
                    }
                }
            });
            next = at;
            match run {
                Ok(()) => break,
                Err(caught) => {
                    // `at` was advanced before the handler ran, so the one that panicked sits just before it.
                    let Some(entry) = at.checked_sub(1).and_then(|index| entries.get(index)) else {
                        break;
                    };
                    self.record(&entry.owner, KIND, name, Fault::Panicked(caught), &mut failures);
                }
            }
        }
        Filtered {
            value,
            failures,
            mismatch: None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use crate::bus::Subscription;
    use crate::name::Name;
    use proptest::prelude::*;

    const PRICE: FilterRef<u64> = FilterRef::new("price.total");
    const TRAIL: FilterRef<Vec<usize>> = FilterRef::new("trail");

    fn name(text: &str) -> Name {
        Name::parse(text).unwrap()
    }

    #[test]
    fn no_filters_return_the_value() {
        let price = Bus::new().apply(&PRICE, 42);
        assert_eq!(price, Filtered::unchanged(42));
        assert!(price.is_ok());
        assert_eq!(price.into_value(), 42);
    }

    #[test]
    fn failing_and_panicking_filters_pass_the_value_on_unchanged() {
        let bus = Bus::new();
        bus.install(
            &name("shop"),
            vec![
                Subscription::filter(&PRICE, 0, |cents| Ok(cents + 1)),
                Subscription::filter(&PRICE, 1, |cents| Err(format!("refused {cents}").into())),
                Subscription::filter(&PRICE, 2, |cents| Ok(cents * 10)),
                Subscription::filter(&PRICE, 3, |_| panic!("filter boom")),
                Subscription::filter(&PRICE, 4, |cents| Ok(cents + 3)),
            ],
        )
        .unwrap();
        let price = bus.apply(&PRICE, 1);
        assert_eq!(price.value, (1 + 1) * 10 + 3);
        let failures: Vec<(&str, bool)> = price
            .failures
            .iter()
            .map(|f| (f.message.as_str(), f.panicked))
            .collect();
        assert_eq!(failures, [("refused 2", false), ("filter boom", true)]);
        assert!(
            price
                .failures
                .iter()
                .all(|f| f.kind == SubscriptionKind::Filter && f.name == "price.total")
        );
    }

    #[test]
    fn applying_with_another_type_runs_nothing_and_says_so() {
        const SAME_NAME: FilterRef<i64> = FilterRef::new("price.total");
        let bus = Bus::new();
        bus.install(
            &name("shop"),
            vec![Subscription::filter(&PRICE, 0, |_| panic!("must not run"))],
        )
        .unwrap();
        let price = bus.apply(&SAME_NAME, -5);
        assert_eq!(price.value, -5);
        assert!(price.failures.is_empty());
        let mismatch = price.mismatch.unwrap();
        assert_eq!((mismatch.expected, mismatch.found), ("u64", "i64"));
    }

    proptest! {
        #[test]
        fn filters_run_by_priority_then_installation_order(priorities in proptest::collection::vec(-3_i32..3, 0..24)) {
            let bus = Bus::new();
            for (index, &priority) in priorities.iter().enumerate() {
                let owner = name(if index % 2 == 0 { "even" } else { "odd" });
                let sub = Subscription::filter(&TRAIL, priority, move |trail: &Vec<usize>| {
                    let mut trail = trail.clone();
                    trail.push(index);
                    Ok(trail)
                });
                bus.install(&owner, vec![sub]).unwrap();
            }
            let mut expected: Vec<usize> = (0..priorities.len()).collect();
            expected.sort_by_key(|&index| (priorities[index], index));
            prop_assert_eq!(bus.apply(&TRAIL, Vec::new()).value, expected);
        }
    }
}
