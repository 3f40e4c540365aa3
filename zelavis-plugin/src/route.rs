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
}
