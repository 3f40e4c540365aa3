//! The request guard: mutating requests must come from the dashboard's own origin and carry JSON.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, header};

use crate::error::ApiError;
use crate::state::Shared;

/// Refuses cross-origin and non-JSON mutating requests before any handler runs.
pub(crate) async fn guard(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let empty = axum::body::HttpBody::size_hint(request.body()).exact() == Some(0)
        && request
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_none_or(|len| len.as_bytes() == b"0")
        && !request.headers().contains_key(header::TRANSFER_ENCODING);
    if is_mutating(request.method())
        && let Err(error) = check(shared.options.dashboard_origin.as_deref(), request.headers(), !empty)
    {
        return error.into_response();
    }
    next.run(request).await
}

fn is_mutating(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Checks a mutating request's headers: same origin (an `Origin` equal to the dashboard's, or to the request's
/// own host when the dashboard's origin is not configured; never `null`), `Sec-Fetch-Site` not cross-site,
/// and, when there is a body, a JSON one.
pub(crate) fn check(dashboard_origin: Option<&str>, headers: &HeaderMap, has_body: bool) -> Result<(), ApiError> {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && matches!(site, "cross-site" | "same-site")
    {
        return Err(ApiError::CrossOrigin {
            origin: format!("sec-fetch-site: {site}"),
        });
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("<not text>");
        if !same_origin(origin, dashboard_origin, headers) {
            return Err(ApiError::CrossOrigin {
                origin: origin.to_owned(),
            });
        }
    }
    if has_body {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::NotJson {
                content_type: if content_type.is_empty() {
                    "nothing".to_owned()
                } else {
                    content_type.to_owned()
                },
            });
        }
    }
    Ok(())
}

fn same_origin(origin: &str, dashboard_origin: Option<&str>, headers: &HeaderMap) -> bool {
    if origin == "null" {
        return false;
    }
    if let Some(expected) = dashboard_origin {
        return origin == expected;
    }
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|rest| rest.eq_ignore_ascii_case(host))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn same_origin_json_passes() {
        let ok = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("content-type", "application/json; charset=utf-8"),
            ("content-length", "2"),
        ]);
        assert_eq!(check(None, &ok, true), Ok(()));
        // No Origin (a script, curl): allowed; no body: no content type needed.
        assert_eq!(check(None, &headers(&[("host", "x")]), false), Ok(()));
    }

    #[test]
    fn other_origins_are_refused() {
        for origin in ["http://evil.example", "null", "http://127.0.0.1:9999"] {
            let h = {
                let mut h = headers(&[("host", "127.0.0.1:8080")]);
                h.insert("origin", HeaderValue::from_str(origin).unwrap());
                h
            };
            assert!(
                matches!(check(None, &h, false), Err(ApiError::CrossOrigin { .. })),
                "{origin}"
            );
        }
        let h = headers(&[("origin", "http://127.0.0.1:8080")]);
        assert!(check(Some("https://admin.example"), &h, false).is_err());
        assert!(check(Some("http://127.0.0.1:8080"), &h, false).is_ok());
        let h = headers(&[("sec-fetch-site", "cross-site")]);
        assert!(matches!(check(None, &h, false), Err(ApiError::CrossOrigin { .. })));
    }

    #[test]
    fn bodies_must_be_json() {
        for ct in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let mut h = headers(&[("content-length", "5")]);
            h.insert("content-type", HeaderValue::from_str(ct).unwrap());
            assert!(matches!(check(None, &h, true), Err(ApiError::NotJson { .. })), "{ct}");
        }
        assert!(matches!(
            check(None, &headers(&[("transfer-encoding", "chunked")]), true),
            Err(ApiError::NotJson { .. })
        ));
    }
}
