//! What a handler takes from a request, each refusal already an [`ApiError`]: the [`Actor`] behind the bearer
//! token, path segments, the query and a JSON body.

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::Shared;
use super::error::ApiError;
use crate::role::{Actor, AuthError};

/// The actor the request's `authorization: Bearer <token>` belongs to.
pub(crate) struct Authed(pub(crate) Actor);

/// The token of an `authorization: Bearer <token>` header.
fn bearer(headers: &HeaderMap) -> Result<&str, AuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(AuthError::Missing);
    };
    let value = value.to_str().map_err(|_| AuthError::Invalid)?.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Invalid);
    }
    let token = token.trim();
    if token.is_empty() {
        Err(AuthError::Missing)
    } else {
        Ok(token)
    }
}

impl FromRequestParts<Arc<Shared>> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)?;
        Ok(Authed(shared.auth.authenticate(token).await?))
    }
}

/// Path segments, percent-decoded (`%40acme%2Freports` is `@acme/reports`).
pub(crate) struct Segments<T>(pub(crate) T);

impl<T: DeserializeOwned + Send> FromRequestParts<Arc<Shared>> for Segments<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, shared)
            .await
            .map(|Path(value)| Segments(value))
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
    }
}

/// The query string.
pub(crate) struct QueryOf<T>(pub(crate) T);

impl<T: DeserializeOwned + Send> FromRequestParts<Arc<Shared>> for QueryOf<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, shared)
            .await
            .map(|Query(value)| QueryOf(value))
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
    }
}

/// A JSON body of at most the configured limit. An empty body reads as `{}` (so `POST .../enable` needs none);
/// a body that is there must be `application/json`. Malformed JSON is `400 bad_request`; JSON of the wrong
/// shape (a missing or unknown field, a wrong type) is `422 invalid_body`.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<Arc<Shared>> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, shared: &Arc<Shared>) -> Result<Self, ApiError> {
        let limit = shared.options.body_limit;
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, limit)
            .await
            .map_err(|_| ApiError::TooLarge { limit })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return parse(b"{}").map(JsonBody);
        }
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::NotJson {
                content_type: if content_type.is_empty() {
                    "nothing".to_owned()
                } else {
                    content_type.chars().take(64).collect()
                },
            });
        }
        parse(&bytes).map(JsonBody)
    }
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| {
        let message = error.to_string();
        match error.classify() {
            serde_json::error::Category::Data => ApiError::InvalidBody { message },
            _ => ApiError::bad_request(format!("malformed JSON: {message}")),
        }
    })
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn with(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn bearer_tokens_are_read_and_others_refused() {
        assert_eq!(bearer(&with("Bearer s3cret")), Ok("s3cret"));
        assert_eq!(bearer(&with("bearer   s3cret ")), Ok("s3cret"));
        assert_eq!(bearer(&HeaderMap::new()), Err(AuthError::Missing));
        assert_eq!(bearer(&with("Bearer ")), Err(AuthError::Missing));
        assert_eq!(bearer(&with("Basic czNjcmV0")), Err(AuthError::Invalid));
        assert_eq!(bearer(&with("s3cret")), Err(AuthError::Invalid));
    }

    #[test]
    fn bodies_refuse_by_kind() {
        #[derive(serde::Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code, reason = "only its shape is tested")]
        struct Pin {
            version: String,
        }
        assert!(matches!(
            parse::<Pin>(b"{\"version\": "),
            Err(ApiError::BadRequest { .. })
        ));
        assert!(matches!(parse::<Pin>(b"{}"), Err(ApiError::InvalidBody { .. })));
        assert!(matches!(
            parse::<Pin>(b"{\"version\": 1}"),
            Err(ApiError::InvalidBody { .. })
        ));
        assert!(matches!(
            parse::<Pin>(b"{\"version\": \"1.0.0\", \"x\": 1}"),
            Err(ApiError::InvalidBody { .. })
        ));
        assert!(parse::<Pin>(b"{\"version\": \"1.0.0\"}").is_ok());
    }
}
