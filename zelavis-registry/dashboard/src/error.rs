//! [`ApiError`]: every refusal of the dashboard API, answered as JSON `{error: "<code>", message}` (with
//! `dependents` for `has_dependents`).

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use thiserror::Error;
use zelavis_core::quote::quote;
use zelavis_plugin::route::RouteError;
use zelavis_registry::controller::Refusal;
use zelavis_registry::loader::LoadError;
use zelavis_registry::runtime::RuntimeError;

/// Why the dashboard API refused or failed a request. Each variant has a stable [`code`](Self::code) and an
/// HTTP [`status`](Self::status); the response body is `{"error": code, "message": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The request body or its parameters are malformed (400).
    #[error("bad request: {message}")]
    BadRequest {
        /// What is wrong.
        message: String,
    },
    /// A mutating request from another origin (or an opaque one, such as a sandboxed plugin page) (403).
    #[error("cross-origin request refused (origin {})", quote(origin))]
    CrossOrigin {
        /// The caller's origin, or what `Sec-Fetch-Site` said.
        origin: String,
    },
    /// A mutating request whose body is not JSON (415).
    #[error("request body must be application/json (got {})", quote(content_type))]
    NotJson {
        /// The content type sent.
        content_type: String,
    },
    /// The request body is larger than the dashboard accepts (413).
    #[error("request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// No such API path, plugin route or plugin (404).
    #[error("{what} not found")]
    NotFound {
        /// What was asked for.
        what: String,
    },
    /// The host has no loader, so it cannot register specifiers (403).
    #[error("this host does not register plugins from specifiers")]
    NoLoader,
    /// The catalog blocks the plugin (403).
    #[error("plugin {} is blocked by review and cannot be installed", quote(name))]
    Blocked {
        /// The plugin.
        name: String,
    },
    /// The host's loader does not know the specifier (404).
    #[error("the host's loader knows no plugin {}", quote(specifier))]
    UnknownSpecifier {
        /// The specifier.
        specifier: String,
    },
    /// The loader found the specifier but could not load it (400).
    #[error(transparent)]
    Load(LoadError),
    /// A plugin of that name is already registered (409).
    #[error("plugin {} is already registered", quote(name))]
    AlreadyRegistered {
        /// The plugin.
        name: String,
    },
    /// The runtime refused the change (404 unknown plugin, 409 dependents or duplicates, 503 store).
    #[error(transparent)]
    Runtime(RuntimeError),
    /// The activation controller refused the change and nothing changed: 404 `unknown_plugin`, 409
    /// `has_dependents` (the body names them in `dependents`) or `registry_conflict`, 503 `store_failed`, 500
    /// `runtime_failed`.
    #[error("{message}")]
    Refused {
        /// The controller's message.
        message: String,
        /// Why.
        refusal: Refusal,
    },
    /// The activation controller did not apply the change, without saying why (409).
    #[error("{message}")]
    NotApplied {
        /// The controller's message.
        message: String,
    },
    /// A plugin's route handler failed or panicked (500; recorded in the plugin's health).
    #[error(transparent)]
    Route(RouteError),
}

impl ApiError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::CrossOrigin { .. } => "cross_origin",
            ApiError::NotJson { .. } => "not_json",
            ApiError::TooLarge { .. } => "too_large",
            ApiError::NotFound { .. } => "not_found",
            ApiError::NoLoader => "no_loader",
            ApiError::Blocked { .. } => "blocked",
            ApiError::UnknownSpecifier { .. } => "unknown_specifier",
            ApiError::Load(_) => "load_failed",
            ApiError::AlreadyRegistered { .. } => "already_registered",
            ApiError::Runtime(error) => Refusal::from(error).code(),
            ApiError::Refused { refusal, .. } => refusal.code(),
            ApiError::NotApplied { .. } => "not_applied",
            ApiError::Route(_) => "route_failed",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } | ApiError::Load(_) => StatusCode::BAD_REQUEST,
            ApiError::CrossOrigin { .. } | ApiError::NoLoader | ApiError::Blocked { .. } => StatusCode::FORBIDDEN,
            ApiError::NotJson { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::NotFound { .. } | ApiError::UnknownSpecifier { .. } => StatusCode::NOT_FOUND,
            ApiError::AlreadyRegistered { .. } | ApiError::NotApplied { .. } => StatusCode::CONFLICT,
            ApiError::Runtime(error) => refusal_status(&Refusal::from(error)),
            ApiError::Refused { refusal, .. } => refusal_status(refusal),
            ApiError::Route(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
        }
    }

    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        ApiError::NotFound { what: what.into() }
    }
}

/// The status of a refusal, whether the runtime or a controller refused: 404 unknown plugin, 409 dependents
/// or a registry rule, 503 store, 500 anything else.
fn refusal_status(refusal: &Refusal) -> StatusCode {
    match refusal {
        Refusal::UnknownPlugin => StatusCode::NOT_FOUND,
        Refusal::HasDependents { .. } | Refusal::RegistryConflict => StatusCode::CONFLICT,
        Refusal::StoreFailed => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<RuntimeError> for ApiError {
    fn from(error: RuntimeError) -> Self {
        ApiError::Runtime(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %self, "dashboard request failed");
        } else {
            tracing::debug!(code = self.code(), error = %self, "dashboard request refused");
        }
        let mut body = serde_json::json!({ "error": self.code(), "message": self.to_string() });
        let dependents = match &self {
            ApiError::Refused {
                refusal: Refusal::HasDependents { dependents },
                ..
            }
            | ApiError::Runtime(RuntimeError::HasDependents { dependents, .. }) => Some(dependents),
            _ => None,
        };
        if let Some(dependents) = dependents {
            body["dependents"] = serde_json::json!(dependents);
        }
        (status, [(http::header::CACHE_CONTROL, "no-store")], axum::Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use zelavis_core::name::Name;
    use zelavis_core::quote::Quoted;

    use super::*;

    fn refused(refusal: Refusal) -> ApiError {
        ApiError::Refused {
            message: "refused".to_owned(),
            refusal,
        }
    }

    #[test]
    fn a_refusal_has_one_code_and_status_whoever_refused() {
        let dependents = vec![Name::parse("reports").unwrap()];
        let table = [
            (Refusal::UnknownPlugin, "unknown_plugin", StatusCode::NOT_FOUND),
            (
                Refusal::HasDependents {
                    dependents: dependents.clone(),
                },
                "has_dependents",
                StatusCode::CONFLICT,
            ),
            (Refusal::RegistryConflict, "registry_conflict", StatusCode::CONFLICT),
            (Refusal::StoreFailed, "store_failed", StatusCode::SERVICE_UNAVAILABLE),
            (
                Refusal::RuntimeFailed,
                "runtime_failed",
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        ];
        for (refusal, code, status) in table {
            let error = refused(refusal);
            assert_eq!((error.code(), error.status()), (code, status), "{error:?}");
        }
        for runtime in [
            RuntimeError::Unknown {
                name: Quoted::new("ghost"),
            },
            RuntimeError::HasDependents {
                plugin: Name::parse("shop").unwrap(),
                dependents,
            },
        ] {
            let same = refused(Refusal::from(&runtime));
            let error = ApiError::Runtime(runtime);
            assert_eq!((error.code(), error.status()), (same.code(), same.status()));
        }
    }
}
