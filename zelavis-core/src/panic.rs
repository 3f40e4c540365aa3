//! Panic isolation: the one place that turns a caught panic into a message and disposes of its payload.
//!
//! Every isolation boundary of Zelavis (hook and filter dispatch, the failure sink, page renders, route calls,
//! child setups; and, in the registry, setups, teardowns and migrations) catches panics with [`catch`] or
//! [`catch_async`] and keeps only a [`Caught`]: the panic's message.
//!
//! # Why payloads are forgotten
//!
//! `catch_unwind` hands back the panic's payload, a `Box<dyn Any + Send>`. Dropping it runs the payload's
//! `Drop`, which is plugin code: a payload whose `Drop` panics again would unwind out of the very boundary that
//! caught the first panic. So [`dispose`] frees only payloads whose `Drop` is known not to panic (the `&str`
//! and `String` that `panic!` itself produces) and [`std::mem::forget`]s any other: its memory is leaked, once
//! per such panic, which is the price of never running foreign drop code at a boundary. (A payload that must
//! be freed can be recovered by the code that raised it: `resume_unwind`, not Zelavis, is the place for it.)
//!
//! ```
//! use zelavis_core::panic::{Caught, catch};
//!
//! struct Bomb;
//! impl Drop for Bomb {
//!     fn drop(&mut self) { panic!("payload dropped"); }
//! }
//!
//! let caught: Caught = catch(|| std::panic::panic_any(Bomb)).unwrap_err();
//! assert_eq!(caught.message(), "non-string panic payload");
//! assert_eq!(catch(|| panic!("boom {}", 1)).unwrap_err().message(), "boom 1");
//! assert_eq!(catch(|| 7), Ok(7));
//! ```

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};

use futures::FutureExt;

/// A panic payload, as `catch_unwind` returns it.
pub type Payload = Box<dyn Any + Send>;

/// The message used for a payload that is neither a `&str` nor a `String`.
pub const NON_STRING_PAYLOAD: &str = "non-string panic payload";

/// A panic that was caught: its message. The payload itself was [disposed of](dispose).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caught {
    message: String,
}

impl Caught {
    /// Takes a payload: reads its message, then disposes of it without running a foreign `Drop`.
    #[cold]
    pub fn from_payload(payload: Payload) -> Self {
        let message = message(payload.as_ref());
        dispose(payload);
        Self { message }
    }

    /// The panic's message (`panic!("boom")` gives `"boom"`), or [`NON_STRING_PAYLOAD`].
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message, owned.
    pub fn into_message(self) -> String {
        self.message
    }
}

impl From<Payload> for Caught {
    fn from(payload: Payload) -> Self {
        Self::from_payload(payload)
    }
}

impl fmt::Display for Caught {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The readable message of a panic payload: its text when it is a `&str` or a `String` (what `panic!` makes),
/// else [`NON_STRING_PAYLOAD`]. Reading never runs code of the payload.
pub fn message(payload: &(dyn Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&'static str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        NON_STRING_PAYLOAD.to_owned()
    }
}

/// Disposes of a payload without ever running a `Drop` that could panic: `&str` and `String` payloads are
/// freed, any other is forgotten (see [why](self#why-payloads-are-forgotten)).
pub fn dispose(payload: Payload) {
    if payload.is::<&'static str>() || payload.is::<String>() {
        drop(payload);
    } else {
        std::mem::forget(payload);
    }
}

/// Runs `f`, turning a panic into a [`Caught`]. `f` is treated as unwind safe: after a panic, callers must
/// only report it, not reuse state `f` left half-changed.
#[inline]
pub fn catch<T>(f: impl FnOnce() -> T) -> Result<T, Caught> {
    catch_unwind(AssertUnwindSafe(f)).map_err(Caught::from_payload)
}

/// Polls `future` to completion, turning a panic at any poll into a [`Caught`]. Like [`catch`], the future
/// is treated as unwind safe. The returned future is `Send` when `future` is.
pub fn catch_async<F: Future>(future: F) -> impl Future<Output = Result<F::Output, Caught>> {
    AssertUnwindSafe(future)
        .catch_unwind()
        .map(|result| result.map_err(Caught::from_payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static DROPS: AtomicUsize = AtomicUsize::new(0);

    struct Bomb;

    impl Drop for Bomb {
        fn drop(&mut self) {
            DROPS.fetch_add(1, Ordering::SeqCst);
            panic!("the payload's drop panicked");
        }
    }

    #[test]
    fn messages_come_from_str_and_string_payloads() {
        let text: Payload = Box::new("boom");
        let string: Payload = Box::new(String::from("bang"));
        let other: Payload = Box::new(7_u8);
        assert_eq!(message(text.as_ref()), "boom");
        assert_eq!(message(string.as_ref()), "bang");
        assert_eq!(message(other.as_ref()), NON_STRING_PAYLOAD);
        assert_eq!(Caught::from(string).to_string(), "bang");
    }

    #[test]
    fn a_payload_whose_drop_panics_is_never_dropped() {
        let before = DROPS.load(Ordering::SeqCst);
        let caught = catch(|| std::panic::panic_any(Bomb)).unwrap_err();
        assert_eq!(caught.message(), NON_STRING_PAYLOAD);
        dispose(Box::new(Bomb));
        assert_eq!(DROPS.load(Ordering::SeqCst), before, "a foreign Drop ran");
    }

    #[test]
    fn async_panics_are_caught_at_any_poll() {
        let eager = catch_async(async { std::panic::panic_any::<Bomb>(Bomb) });
        assert_eq!(
            futures::executor::block_on(eager).unwrap_err().message(),
            NON_STRING_PAYLOAD
        );
        let later = catch_async(async {
            futures::future::ready(()).await;
            panic!("later {}", 2)
        });
        assert_eq!(
            futures::executor::block_on(later),
            Err(Caught {
                message: "later 2".into()
            })
        );
        assert_eq!(futures::executor::block_on(catch_async(async { 3 })), Ok(3));
    }
}
