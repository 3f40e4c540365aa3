//! Activation: running one plugin's setup in isolation and committing what it registered, or nothing.
//!
//! A setup that returns an error, panics (sync or async) or exceeds the host's timeout is recorded as failed
//! and its registrations are dropped; activation goes on with the next plugin. Timeouts preempt at await
//! points only: Rust cannot stop a thread, so a sync setup that blocks forever blocks its caller.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::{BoxFuture, Either, select};
use zelavis_core::contract::{ContractVersion, HOST_CONTRACT};
use zelavis_core::name::Name;
use zelavis_core::page::panic_message;
use zelavis_core::paths::ApiPaths;
use zelavis_core::platform::PlatformSummary;
use zelavis_plugin::PluginDef;
use zelavis_plugin::context::{Finished, SetupContext};
use zelavis_plugin::permission::PermissionMode;

use crate::report::FailReason;

type SleepFn = dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync;

/// How a host activates plugins: mount paths, platform summary, permission mode, setup timeout and contract.
///
/// ```
/// use std::time::Duration;
/// use zelavis_registry::activation::ActivationOptions;
/// use zelavis_plugin::permission::PermissionMode;
///
/// let options = ActivationOptions::default()
///     .permission_mode(PermissionMode::Lenient)
///     // The library has no runtime of its own: the host says how to sleep (here with a thread, for the example).
///     .timeout(Duration::from_secs(5), |d| Box::pin(async move { std::thread::sleep(d) }));
/// # let _ = options;
/// ```
#[derive(Clone)]
pub struct ActivationOptions {
    pub(crate) paths: ApiPaths,
    pub(crate) platform: Arc<PlatformSummary>,
    pub(crate) mode: PermissionMode,
    pub(crate) timeout: Option<(Duration, Arc<SleepFn>)>,
    pub(crate) host_contract: ContractVersion,
}

impl Default for ActivationOptions {
    fn default() -> Self {
        Self {
            paths: ApiPaths::default(),
            platform: Arc::default(),
            mode: PermissionMode::Strict,
            timeout: None,
            host_contract: HOST_CONTRACT,
        }
    }
}

impl fmt::Debug for ActivationOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActivationOptions")
            .field("paths", &self.paths)
            .field("platform", &self.platform)
            .field("mode", &self.mode)
            .field("timeout", &self.timeout.as_ref().map(|(d, _)| d))
            .field("host_contract", &self.host_contract)
            .finish()
    }
}

impl ActivationOptions {
    /// Mount paths (default `/zelavis`, `/api`, `v1`).
    pub fn paths(mut self, paths: ApiPaths) -> Self {
        self.paths = paths;
        self
    }

    /// The platform summary every setup sees.
    pub fn platform(mut self, platform: PlatformSummary) -> Self {
        self.platform = Arc::new(platform);
        self
    }

    /// Strict (default: undeclared registrations refused) or lenient (allowed with a warning).
    pub fn permission_mode(mut self, mode: PermissionMode) -> Self {
        self.mode = mode;
        self
    }

    /// Fails any setup still running after `after`. `sleep` is the host runtime's timer, e.g.
    /// `|d| Box::pin(tokio::time::sleep(d))`.
    pub fn timeout<S>(mut self, after: Duration, sleep: S) -> Self
    where
        S: Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync + 'static,
    {
        self.timeout = Some((after, Arc::new(sleep)));
        self
    }

    /// The contract version the host speaks (default: this build's `HOST_CONTRACT`).
    pub fn host_contract(mut self, contract: ContractVersion) -> Self {
        self.host_contract = contract;
        self
    }
}

/// Runs `def`'s setup with `children` offered for its extension points. On success, returns everything it
/// registered; on failure, why (its registrations are dropped here).
pub(crate) async fn run_setup(
    def: &PluginDef,
    children: &[(Name, PluginDef)],
    services: zelavis_core::service::Services,
    options: &ActivationOptions,
) -> Result<Finished, FailReason> {
    let mut builder = SetupContext::builder(def)
        .paths(options.paths.clone())
        .platform(options.platform.clone())
        .services(services)
        .permission_mode(options.mode);
    for point in def.extension_points() {
        let accepted: Vec<PluginDef> = children
            .iter()
            .filter(|(p, _)| *p == point.name)
            .map(|(_, c)| c.clone())
            .collect();
        if !accepted.is_empty() {
            builder = builder.children(point.name.clone(), accepted);
        }
    }
    let cx = builder.build();
    let setup = std::pin::pin!(AssertUnwindSafe(def.run_setup(&cx)).catch_unwind());
    let result = match &options.timeout {
        None => Some(setup.await),
        Some((after, sleep)) => match select(setup, sleep(*after)).await {
            Either::Left((result, _)) => Some(result),
            Either::Right(((), _)) => None,
        },
    };
    let finished = cx.finish();
    match result {
        Some(Ok(Ok(()))) => Ok(finished),
        Some(Ok(Err(error))) => Err(FailReason::Setup {
            message: error.to_string(),
        }),
        Some(Err(payload)) => Err(FailReason::Panicked {
            message: panic_message(payload.as_ref()),
        }),
        None => Err(FailReason::TimedOut {
            after_ms: options
                .timeout
                .as_ref()
                .map_or(0, |(d, _)| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }),
    }
}
