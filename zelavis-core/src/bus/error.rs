//! Errors of the bus: what handlers return ([`HandlerError`]), what the bus records about a failed handler
//! ([`HandlerFailure`]), a dispatch with the wrong payload type ([`TypeMismatch`]) and refused installs
//! ([`BusError`]).

use std::fmt;

use thiserror::Error;

use super::subscription::SubscriptionKind;
use crate::name::Name;
use crate::panic::Caught;

/// The error a hook handler or a filter returns: a message for the host's report.
///
/// ```
/// use zelavis_core::bus::HandlerError;
///
/// let from_text: HandlerError = "stock service unreachable".into();
/// let from_io = HandlerError::other(std::io::Error::other("disk full"));
/// assert_eq!(from_text.message(), "stock service unreachable");
/// assert_eq!(from_io.to_string(), "disk full");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct HandlerError {
    // Boxed to one pointer, so a handler's `Result<(), HandlerError>` (and a filter's `Result<u64, _>`) is
    // returned in registers: success, the hot path, costs no memory round trip.
    inner: Box<ErrorText>,
}

#[derive(Clone, PartialEq, Eq)]
struct ErrorText {
    message: String,
}

impl HandlerError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            inner: Box::new(ErrorText {
                message: message.into(),
            }),
        }
    }

    /// An error from any other error, its sources joined with `": "` (`"query failed: connection reset"`).
    /// Takes the error by value so `.map_err(HandlerError::other)` reads well.
    pub fn other<E: std::error::Error>(error: E) -> Self {
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        Self::new(message)
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    fn into_message(self) -> String {
        self.inner.message
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HandlerError").field(&self.message()).finish()
    }
}

impl std::error::Error for HandlerError {}

impl From<&str> for HandlerError {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

impl From<String> for HandlerError {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

/// One handler or filter that returned an error or panicked. The bus went on with the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerFailure {
    /// The plugin that owns the subscription.
    pub owner: Name,
    /// Hook or filter.
    pub kind: SubscriptionKind,
    /// The hook or filter name.
    pub name: &'static str,
    /// The returned error's message, or the panic message.
    pub message: String,
    /// Whether the handler panicked (rather than returned an error).
    pub panicked: bool,
}

/// How a handler or filter failed, as caught by the bus.
pub(crate) enum Fault {
    /// It returned this error.
    Returned(HandlerError),
    /// It panicked; the payload is already disposed of.
    Panicked(Caught),
}

impl HandlerFailure {
    pub(crate) fn new(owner: &Name, kind: SubscriptionKind, name: &'static str, fault: Fault) -> Self {
        let (message, panicked) = match fault {
            Fault::Returned(error) => (error.into_message(), false),
            Fault::Panicked(caught) => (caught.into_message(), true),
        };
        Self {
            owner: owner.clone(),
            kind,
            name,
            message,
            panicked,
        }
    }
}

impl fmt::Display for HandlerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.panicked { "panicked" } else { "failed" };
        write!(
            f,
            "{} {:?} of plugin {:?} {what}: {}",
            self.kind,
            self.name,
            self.owner.as_str(),
            self.message
        )
    }
}

/// A dispatch whose payload type is not the one the subscriptions under that name were installed with.
/// Nothing ran; the emitter (not the subscribers) is at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{kind} {name:?} carries {expected}, but was dispatched with {found}; no handler ran")]
pub struct TypeMismatch {
    /// Hook or filter.
    pub kind: SubscriptionKind,
    /// The hook or filter name.
    pub name: &'static str,
    /// The payload type of the installed subscriptions.
    pub expected: &'static str,
    /// The payload type of this dispatch.
    pub found: &'static str,
}

/// Why [`Bus::install`](super::Bus::install) refused a plugin's subscriptions. Nothing was installed.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum BusError {
    /// The hook or filter name breaks the [name grammar](crate::bus#name-grammar).
    #[error("plugin {owner:?} cannot subscribe to {kind} {name:?}: {reason}")]
    InvalidName {
        /// The plugin whose subscription was refused.
        owner: Name,
        /// Hook or filter.
        kind: SubscriptionKind,
        /// The offending name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Subscriptions under this name already carry (or, in the same install, carry) another payload type.
    #[error("plugin {owner:?} cannot subscribe to {kind} {name:?} with payload {found}: it carries {expected}")]
    TypeMismatch {
        /// The plugin whose subscription was refused.
        owner: Name,
        /// Hook or filter.
        kind: SubscriptionKind,
        /// The hook or filter name.
        name: String,
        /// The payload type the name already carries.
        expected: std::borrow::Cow<'static, str>,
        /// The payload type of the refused subscription.
        found: std::borrow::Cow<'static, str>,
    },
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;
    use std::any::Any;

    #[derive(Debug, Error)]
    #[error("query failed")]
    struct Query(#[source] std::io::Error);

    #[test]
    fn handler_errors_come_from_text_and_other_errors() {
        assert_eq!(HandlerError::from("a").message(), "a");
        assert_eq!(HandlerError::from(String::from("b")).to_string(), "b");
        let nested = Query(std::io::Error::other("connection reset"));
        assert_eq!(HandlerError::other(nested).message(), "query failed: connection reset");
    }

    #[test]
    fn panic_payloads_become_messages() {
        let owner = Name::parse("shop").unwrap();
        let text: Box<dyn Any + Send> = Box::new("boom");
        let string: Box<dyn Any + Send> = Box::new(String::from("bang"));
        let other: Box<dyn Any + Send> = Box::new(7_u8);
        let message = |payload: Box<dyn Any + Send>| {
            HandlerFailure::new(
                &owner,
                SubscriptionKind::Hook,
                "a",
                Fault::Panicked(Caught::from_payload(payload)),
            )
            .message
        };
        assert_eq!(message(text), "boom");
        assert_eq!(message(string), "bang");
        assert_eq!(message(other), crate::panic::NON_STRING_PAYLOAD);
    }

    #[test]
    fn messages_name_every_party() {
        let failure = HandlerFailure::new(
            &Name::parse("shop").unwrap(),
            SubscriptionKind::Filter,
            "price.total",
            Fault::Returned("no rate".into()),
        );
        assert_eq!(
            failure.to_string(),
            "filter \"price.total\" of plugin \"shop\" failed: no rate"
        );
        let error = BusError::TypeMismatch {
            owner: Name::parse("shop").unwrap(),
            kind: SubscriptionKind::Hook,
            name: "order.created".into(),
            expected: "u32".into(),
            found: "u64".into(),
        };
        assert_eq!(
            error.to_string(),
            "plugin \"shop\" cannot subscribe to hook \"order.created\" with payload u64: it carries u32"
        );
    }
}
