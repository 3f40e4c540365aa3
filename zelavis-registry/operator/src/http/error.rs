//! [`ApiError`]: every refusal of the super-admin API, answered as JSON `{error, message, problems?, tenants?}` —
//! an operator refusal with its own code and status, or one of the HTTP layer's own (no token, bad JSON, too
//! large, unknown route).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use thiserror::Error;

use crate::error::{ErrorBody, OperatorError};
use crate::role::AuthError;

/// Why the super-admin API refused or failed a request. [`code`](Self::code) is the `error` field of the JSON
/// body, [`status`](Self::status) the HTTP status.
///
/// ```
/// use zelavis_operator::error::OperatorError;
/// use zelavis_operator::http::ApiError;
///
/// let refused = ApiError::from(OperatorError::UnknownTenant { tenant: "initech".into() });
/// assert_eq!((refused.code(), refused.status()), ("unknown_tenant", 404));
/// assert_eq!(ApiError::TooLarge { limit: 65536 }.status(), 413);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The operator layer refused or failed the call (its own code and status).
    #[error(transparent)]
    Operator(#[from] OperatorError),
    /// No token, or one the authenticator does not know (401).
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    /// The body is not JSON, or a path segment or query is malformed (400).
    #[error("bad request: {message}")]
    BadRequest {
        /// What is wrong.
        message: String,
    },
    /// The body is JSON but not what the route takes: a missing or unknown field, a wrong type (422).
    #[error("invalid body: {message}")]
    InvalidBody {
        /// What is wrong.
        message: String,
    },
    /// A body that is not `application/json` (415).
    #[error("request body must be application/json (got {content_type:?})")]
    NotJson {
        /// The content type sent.
        content_type: String,
    },
    /// A publish upload that is not `multipart/form-data` (415).
    #[error("request body must be multipart/form-data (got {content_type:?})")]
    NotMultipart {
        /// The content type sent.
        content_type: String,
    },
    /// The body is larger than the API accepts (413).
    #[error("request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// No such route (404).
    #[error("no route {path:?}")]
    NotFound {
        /// The path asked for (cut to 128 characters).
        path: String,
    },
    /// The route exists but not with this method (405).
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// Something failed inside the server (500); details are in its log, not in the answer.
    #[error("the server failed to answer; see its log")]
    Internal,
}

impl ApiError {
    /// The stable code: the operator layer's (`tier_too_low`, `unknown_plugin`, ...) or `unauthorized`,
    /// `bad_request`, `invalid_body`, `not_json`, `not_multipart`, `too_large`, `not_found`, `method_not_allowed`, `internal`.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Operator(error) => error.code(),
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::InvalidBody { .. } => "invalid_body",
            ApiError::NotJson { .. } => "not_json",
            ApiError::NotMultipart { .. } => "not_multipart",
            ApiError::TooLarge { .. } => "too_large",
            ApiError::NotFound { .. } => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Internal => "internal",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Operator(error) => error.status(),
            ApiError::Unauthorized(_) => 401,
            ApiError::BadRequest { .. } => 400,
            ApiError::InvalidBody { .. } => 422,
            ApiError::NotJson { .. } | ApiError::NotMultipart { .. } => 415,
            ApiError::TooLarge { .. } => 413,
            ApiError::NotFound { .. } => 404,
            ApiError::MethodNotAllowed => 405,
            ApiError::Internal => 500,
        }
    }

    /// The JSON body: `{error, message}`, plus `problems` (invalid settings) or `tenants` (removal while in use).
    pub fn body(&self) -> ErrorBody {
        match self {
            ApiError::Operator(error) => error.body(),
            other => ErrorBody {
                error: other.code(),
                message: other.to_string(),
                problems: Vec::new(),
                tenants: Vec::new(),
            },
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            message: message.into(),
        }
    }

    pub(crate) fn not_found(path: &str) -> Self {
        ApiError::NotFound {
            path: path.chars().take(128).collect(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(code = self.code(), error = %self, "super-admin request failed");
        } else {
            tracing::debug!(code = self.code(), error = %self, "super-admin request refused");
        }
        let mut response = (status, axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if matches!(self, ApiError::Unauthorized(_)) {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"zelavis-super-admin\""),
            );
        }
        response
    }
}

/// Gives every error answer the API's JSON shape: the ones axum and the tower layers write themselves (an
/// unknown method's 405, the body limit's 413, a caught panic's 500) are not JSON; they are rewritten here,
/// keeping their status and headers such as `allow`.
pub(crate) async fn normalise<B>(State(limit): State<usize>, response: axum::http::Response<B>) -> Response
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response.map(axum::body::Body::new);
    }
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if json {
        return response.map(axum::body::Body::new);
    }
    let error = match status {
        StatusCode::NOT_FOUND => ApiError::not_found(""),
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge { limit },
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::NotJson {
            content_type: String::new(),
        },
        StatusCode::UNAUTHORIZED => ApiError::Unauthorized(AuthError::Missing),
        s if s.is_client_error() => ApiError::bad_request(s.canonical_reason().unwrap_or("refused")),
        _ => ApiError::Internal,
    };
    let (parts, _) = response.into_parts();
    let mut rewritten = error.into_response();
    *rewritten.status_mut() = status;
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH && !rewritten.headers().contains_key(name) {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}
