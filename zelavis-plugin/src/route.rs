//! [`Route`]: an HTTP route a plugin registers (method, path, async handler on `http` types), mounted under the
//! plugin's API path by the host.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use http::{Method, Request, Response};
use thiserror::Error;
use zelavis_core::panic::catch_async;
use zelavis_core::path::{PathError, check_route};
use zelavis_core::paths::decode_segment;

/// The request type routes receive.
pub type RouteRequest = Request<Vec<u8>>;
/// The response type routes answer.
pub type RouteResponse = Response<Vec<u8>>;

/// What a route handler may fail with; the host answers it as a server error and records it in plugin health.
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
#[serde(tag = "error", content = "detail", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RouteError {
    /// The handler returned an error.
    #[error("route {route} failed: {message}")]
    Failed {
        /// `METHOD /path`.
        route: String,
        /// The handler's message.
        message: String,
    },
    /// The handler panicked.
    #[error("route {route} panicked: {message}")]
    Panicked {
        /// `METHOD /path`.
        route: String,
        /// The panic message.
        message: String,
    },
    /// The route path breaks the [path grammar](zelavis_core::path).
    #[error("invalid route path: {0}")]
    InvalidPath(#[from] PathError),
}

/// A route handler. Closures `Fn(RouteRequest) -> impl Future<Output = Result<RouteResponse, String>>` implement
/// it through [`Route::new`].
#[async_trait]
pub trait RouteHandler: Send + Sync + 'static {
    /// Answers one request.
    async fn call(&self, request: RouteRequest) -> Result<RouteResponse, String>;
}

struct FnHandler<F>(F);

#[async_trait]
impl<F, Fut> RouteHandler for FnHandler<F>
where
    F: Fn(RouteRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<RouteResponse, String>> + Send + 'static,
{
    async fn call(&self, request: RouteRequest) -> Result<RouteResponse, String> {
        (self.0)(request).await
    }
}

/// An HTTP route: method, path relative to the plugin's API path, and handler.
///
/// ```
/// use zelavis_plugin::route::{Route, RouteResponse};
/// use http::Method;
///
/// let route = Route::new(Method::GET, "/orders", |_req| async {
///     Ok::<_, String>(RouteResponse::new(b"[]".to_vec()))
/// })?;
/// assert_eq!(route.to_string(), "GET /orders");
/// # Ok::<(), zelavis_plugin::route::RouteError>(())
/// ```
#[derive(Clone)]
pub struct Route {
    method: Method,
    path: String,
    handler: Arc<dyn RouteHandler>,
}

impl Route {
    /// A route. Its path follows the [path grammar](zelavis_core::path) with route parameters: e.g.
    /// `/orders`, `/orders/{id}`, `/files/{*rest}`.
    pub fn new<F, Fut>(method: Method, path: impl Into<String>, handler: F) -> Result<Self, RouteError>
    where
        F: Fn(RouteRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<RouteResponse, String>> + Send + 'static,
    {
        Self::with_handler(method, path, FnHandler(handler))
    }

    /// A route with a handler implementing [`RouteHandler`].
    pub fn with_handler(
        method: Method,
        path: impl Into<String>,
        handler: impl RouteHandler,
    ) -> Result<Self, RouteError> {
        let path = path.into();
        check_route(&path)?;
        Ok(Self {
            method,
            path,
            handler: Arc::new(handler),
        })
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The path relative to the plugin's API path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Calls the handler; an error or a panic becomes a [`RouteError`], never an unwind.
    pub async fn call(&self, request: RouteRequest) -> Result<RouteResponse, RouteError> {
        match catch_async(self.handler.call(request)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(message)) => Err(RouteError::Failed {
                route: self.to_string(),
                message,
            }),
            Err(caught) => Err(RouteError::Panicked {
                route: self.to_string(),
                message: caught.into_message(),
            }),
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

impl fmt::Debug for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Route({self})")
    }
}

/// The values a request path gave a route's parameters (`{id}`, `{*rest}`), percent-decoded, in pattern order.
///
/// The runtime puts them into the request's extensions before it calls a route with parameters; a handler reads
/// them with [`RouteParams::of`].
///
/// ```
/// use zelavis_plugin::route::{RouteParams, match_path};
///
/// let params = match_path("/orders/{id}/lines/{*rest}", "/orders/NW%2D1042/lines/3/notes").unwrap();
/// assert_eq!(params.get("id"), Some("NW-1042"));
/// assert_eq!(params.get("rest"), Some("3/notes"));
/// assert_eq!(match_path("/orders/{id}", "/orders"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteParams(Vec<(String, String)>);

static NO_PARAMS: RouteParams = RouteParams(Vec::new());

impl RouteParams {
    /// The value of parameter `name`, if the route has it.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Every parameter, name and value, in pattern order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The parameters of `request` (none when its route has no parameters).
    pub fn of(request: &RouteRequest) -> &RouteParams {
        request.extensions().get::<RouteParams>().unwrap_or(&NO_PARAMS)
    }
}

/// One segment of a route pattern.
enum Part<'a> {
    Literal(&'a str),
    Param(&'a str),
    Rest(&'a str),
}

fn parts(pattern: &str) -> impl Iterator<Item = Part<'_>> {
    zelavis_core::path::segments(pattern).map(|segment| {
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(inner) => match inner.strip_prefix('*') {
                Some(name) => Part::Rest(name),
                None => Part::Param(inner),
            },
            None => Part::Literal(segment),
        }
    })
}

/// Matches request path `path` against route pattern `pattern` (a path checked by the route grammar): literal
/// segments must be equal, `{name}` takes one non-empty segment and a last `{*name}` the rest (at least one
/// segment). Values are percent-decoded; a value that does not decode to UTF-8 does not match.
pub fn match_path(pattern: &str, path: &str) -> Option<RouteParams> {
    let mut params = Vec::new();
    let mut rest = path.strip_prefix('/')?;
    let mut parts = parts(pattern).peekable();
    if parts.peek().is_none() {
        return rest.is_empty().then(RouteParams::default);
    }
    while let Some(part) = parts.next() {
        if let Part::Rest(name) = part {
            if rest.is_empty() {
                return None;
            }
            let mut value = String::with_capacity(rest.len());
            for (index, segment) in rest.split('/').enumerate() {
                if index > 0 {
                    value.push('/');
                }
                value.push_str(&decode_segment(segment)?);
            }
            params.push((name.to_owned(), value));
            return Some(RouteParams(params));
        }
        let (segment, after) = rest.split_once('/').map_or((rest, None), |(s, a)| (s, Some(a)));
        match part {
            Part::Literal(literal) if literal == segment => {}
            Part::Param(name) if !segment.is_empty() => params.push((name.to_owned(), decode_segment(segment)?)),
            _ => return None,
        }
        match (after, parts.peek()) {
            (Some(after), Some(_)) => rest = after,
            (None, None) => return Some(RouteParams(params)),
            _ => return None,
        }
    }
    None
}

/// The shape of route pattern `pattern`: the pattern with its parameter names erased (`/orders/{}`,
/// `/files/{*}`). Two routes of one method and one shape answer the same requests, so they conflict.
pub fn shape(pattern: &str) -> String {
    if !pattern.contains('{') {
        return pattern.to_owned();
    }
    let mut shape = String::with_capacity(pattern.len());
    for part in parts(pattern) {
        shape.push('/');
        match part {
            Part::Literal(literal) => shape.push_str(literal),
            Part::Param(_) => shape.push_str("{}"),
            Part::Rest(_) => shape.push_str("{*}"),
        }
    }
    shape
}

/// How specific a pattern is, to order patterns that match one path: per segment a literal (0) beats a
/// parameter (1), which beats a rest parameter (2); the lower list wins.
pub fn specificity(pattern: &str) -> Vec<u8> {
    parts(pattern)
        .map(|part| match part {
            Part::Literal(_) => 0,
            Part::Param(_) => 1,
            Part::Rest(_) => 2,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn errors_and_panics_are_typed() {
        let ok = Route::new(Method::GET, "/a", |_| async { Ok(RouteResponse::new(vec![1])) }).unwrap();
        assert_eq!(block_on(ok.call(Request::new(vec![]))).unwrap().body(), &vec![1]);
        let failing = Route::new(Method::POST, "/b", |_| async { Err("nope".to_owned()) }).unwrap();
        assert_eq!(
            block_on(failing.call(Request::new(vec![]))).unwrap_err().to_string(),
            "route POST /b failed: nope"
        );
        let panicking = Route::new(Method::GET, "/c", |_| async { panic!("boom") }).unwrap();
        assert!(
            matches!(block_on(panicking.call(Request::new(vec![]))), Err(RouteError::Panicked { message, .. }) if message == "boom")
        );
    }

    #[test]
    fn a_payload_whose_drop_panics_stays_inside_the_call() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("the payload's drop panicked");
            }
        }
        let eager = Route::new(
            Method::GET,
            "/a",
            |_| -> futures::future::Ready<Result<RouteResponse, String>> { std::panic::panic_any(Bomb) },
        )
        .unwrap();
        let polled = Route::new(Method::GET, "/b", |_| async {
            futures::future::ready(()).await;
            std::panic::panic_any::<Bomb>(Bomb)
        })
        .unwrap();
        for route in [eager, polled] {
            assert!(matches!(
                block_on(route.call(Request::new(vec![]))),
                Err(RouteError::Panicked { message, .. }) if message == zelavis_core::panic::NON_STRING_PAYLOAD
            ));
        }
    }

    #[test]
    fn paths_follow_the_path_grammar_with_parameters() {
        let route = |path: &str| Route::new(Method::GET, path, |_| async { Ok(RouteResponse::new(vec![])) });
        for ok in ["/", "/orders", "/orders/{id}", "/files/{*rest}"] {
            assert!(route(ok).is_ok(), "{ok}");
        }
        for bad in [
            "orders",
            "/a/../b",
            "/a/./b",
            "//host/x",
            "/%2e%2e",
            "/a\0",
            "/a\u{202e}b",
            "/javascript:x",
            "/:id",
            "/{*rest}/x",
        ] {
            assert!(matches!(route(bad), Err(RouteError::InvalidPath(_))), "{bad}");
        }
        let error = route(&format!("/{}", "a".repeat(1 << 20))).unwrap_err();
        assert!(matches!(error, RouteError::InvalidPath(PathError::TooLong { .. })));
        assert!(error.to_string().len() < 300);
    }

    #[test]
    fn patterns_match_literals_parameters_and_a_rest() {
        let params = |pattern: &str, path: &str| {
            match_path(pattern, path).map(|p| p.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>())
        };
        assert_eq!(params("/", "/"), Some(vec![]));
        assert_eq!(params("/", "/a"), None);
        assert_eq!(params("/orders", "/orders"), Some(vec![]));
        assert_eq!(params("/orders", "/orders/"), None);
        assert_eq!(params("/orders/{id}", "/orders/7"), Some(vec!["id=7".to_owned()]));
        assert_eq!(params("/orders/{id}", "/orders/a%20b"), Some(vec!["id=a b".to_owned()]));
        assert_eq!(params("/orders/{id}", "/orders/"), None, "a parameter is never empty");
        assert_eq!(params("/orders/{id}", "/orders/7/x"), None);
        assert_eq!(params("/orders/{id}", "/orders/%FF"), None, "not UTF-8");
        assert_eq!(params("/orders/{id}", "/orders/%zz"), None, "a bad escape");
        assert_eq!(
            params("/o/{id}/l/{line}", "/o/1/l/2"),
            Some(vec!["id=1".to_owned(), "line=2".to_owned()])
        );
        assert_eq!(
            params("/files/{*rest}", "/files/a/b%2Fc"),
            Some(vec!["rest=a/b/c".to_owned()])
        );
        assert_eq!(
            params("/files/{*rest}", "/files"),
            None,
            "a rest takes at least one segment"
        );
        assert_eq!(params("/files/{*rest}", "/files/"), None);
        assert_eq!(params("/a", "a"), None, "request paths are absolute");
    }

    #[test]
    fn shapes_erase_names_and_specificity_orders_matches() {
        assert_eq!(shape("/orders"), "/orders");
        assert_eq!(shape("/orders/{id}/x/{*rest}"), "/orders/{}/x/{*}");
        assert_eq!(shape("/orders/{id}"), shape("/orders/{key}"));
        assert!(specificity("/a/{x}") < specificity("/{y}/b"));
        assert!(specificity("/a/b") < specificity("/a/{x}"));
        assert!(specificity("/a/{x}") < specificity("/a/{*rest}"));
    }

    #[test]
    fn handlers_read_their_parameters_from_the_request() {
        let route = Route::new(Method::GET, "/orders/{id}", |request| async move {
            let id = RouteParams::of(&request).get("id").unwrap_or("none").to_owned();
            Ok(RouteResponse::new(id.into_bytes()))
        })
        .unwrap();
        let mut request = Request::new(vec![]);
        request
            .extensions_mut()
            .insert(match_path(route.path(), "/orders/42").unwrap());
        assert_eq!(block_on(route.call(request)).unwrap().body(), b"42");
        assert_eq!(block_on(route.call(Request::new(vec![]))).unwrap().body(), b"none");
    }

    proptest::proptest! {
        #[test]
        fn any_values_round_trip_through_their_encoding(
            id in "\\PC{1,12}",
            rest in proptest::collection::vec("\\PC{1,8}", 1..4),
        ) {
            use zelavis_core::paths::encode_segment;
            let encoded: Vec<String> = rest.iter().map(|s| encode_segment(s)).collect();
            let path = format!("/o/{}/r/{}", encode_segment(&id), encoded.join("/"));
            let params = match_path("/o/{id}/r/{*rest}", &path).unwrap();
            proptest::prop_assert_eq!(params.get("id"), Some(id.as_str()));
            let joined = rest.join("/");
            proptest::prop_assert_eq!(params.get("rest"), Some(joined.as_str()));
            // The same path never matches a pattern with a different literal.
            let other = "/x/{id}/r/{*rest}";
            proptest::prop_assert!(match_path(other, &path).is_none());
        }
    }
}
