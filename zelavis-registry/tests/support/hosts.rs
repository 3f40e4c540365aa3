//! Two hosts on one store: shared by the many-hosts tests and the propagation bench.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use zelavis_registry::prelude::*;
use zelavis_registry::store::update_state;

/// A host: its runtime and how many times each of its plugins was set up.
pub(crate) struct Host {
    pub(crate) runtime: Runtime,
    pub(crate) setups: Arc<AtomicUsize>,
}

/// The plugins every host links: `shop` and `extra-0..n`, all available until a store says otherwise.
pub(crate) fn registry(setups: &Arc<AtomicUsize>, extras: usize) -> PluginRegistry {
    let counted = |name: String| {
        let setups = setups.clone();
        PluginDef::builder(name)
            .version("1.0.0")
            .permission(Permission::ServicesRegister)
            .setup(move |cx| {
                setups.fetch_add(1, Ordering::SeqCst);
                cx.register_service(ServiceDef::new(Name::parse(&format!("{}-service", cx.plugin()))?))?;
                Ok(())
            })
            .build()
            .expect("test plugins are valid")
    };
    let entries = std::iter::once(counted("shop".to_owned()))
        .chain((0..extras).map(|i| counted(format!("extra-{i}"))))
        .map(RegistryEntry::available);
    PluginRegistry::new(entries).expect("distinct names")
}

/// Starts a host on `scope` of `store`, following it in a background task (watch, plus polling every 20 ms).
pub(crate) async fn start_host<S>(store: S, scope: Scope, extras: usize) -> Host
where
    S: RegistryStore + MigrationLedger + 'static,
{
    let setups = Arc::new(AtomicUsize::new(0));
    let (runtime, _) = Runtime::builder(registry(&setups, extras))
        .store(store, scope)
        .timer(TokioTimer)
        .poll_every(Duration::from_millis(20))
        .start()
        .await
        .expect("the host starts");
    let follower = runtime.follower().expect("the host has a store");
    tokio::spawn(async move {
        let error = follower.run().await;
        assert!(
            matches!(error, FollowError::RuntimeDropped),
            "follower stopped: {error}"
        );
    });
    Host { runtime, setups }
}

/// Sets `name` to `status` in the shared store (with CAS retries).
pub(crate) async fn set_status<S: RegistryStore>(store: &S, scope: &Scope, name: &str, status: Status) {
    let name = Name::parse(name).expect("valid");
    update_state(store, scope, |state| {
        state.upsert(InstallRecord::new(name.clone(), status));
    })
    .await
    .expect("store update");
}

/// Waits until `check` holds on `host`, failing after 10 s; returns how long it took.
pub(crate) async fn wait_until(host: &Host, name: &str, active: bool) -> Duration {
    let start = Instant::now();
    while host.runtime.is_active(name).await != active {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{name} never became active={active}"
        );
        tokio::time::sleep(Duration::from_micros(200)).await;
    }
    start.elapsed()
}
