//! The super-admin API's routes called in process: requests with a bearer token and JSON, and the replies'
//! checks (an answer, or a refusal in the API's JSON shape).

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

/// Where the routes are mounted.
pub(crate) const API: &str = "/api/super-admin";

/// What a route answered.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    /// The body, as JSON.
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The body, as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts an error answer: the status, the code, a message, JSON and not sniffed. Returns the body.
    #[track_caller]
    pub(crate) fn refused(&self, status: u16, code: &str) -> Value {
        let body = self.json();
        assert_eq!(
            (self.status.as_u16(), body["error"].as_str()),
            (status, Some(code)),
            "{body}"
        );
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
        assert_eq!(
            self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
            Some("application/json")
        );
        assert_eq!(self.headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
        body
    }

    /// Asserts a success, not cached and not sniffed. Returns the body, as JSON.
    #[track_caller]
    pub(crate) fn ok(&self) -> Value {
        assert!(self.status.is_success(), "{} {}", self.status, self.text());
        assert_eq!(self.headers.get(header::CACHE_CONTROL).unwrap(), "no-store");
        assert_eq!(self.headers.get(header::X_CONTENT_TYPE_OPTIONS).unwrap(), "nosniff");
        self.json()
    }
}

/// Sends `request` to `router`.
pub(crate) async fn raw(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Reply { status, headers, body }
}

/// Calls `method` on [`API`]`path`, with `token` as its bearer token (or none) and `body` as JSON (or none).
pub(crate) async fn call(
    router: &Router,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(format!("{API}{path}"));
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = match body {
        Some(body) => request
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => request.body(Body::empty()),
    };
    raw(router, request.unwrap()).await
}
