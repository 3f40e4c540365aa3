//! Many hosts on one store: host A installs, enables and disables plugins through the shared store; host B's
//! runtime follows without restart; concurrent installs from both hosts lose nothing.

#[path = "support/hosts.rs"]
#[allow(dead_code)]
mod hosts;

use std::sync::atomic::Ordering;

use hosts::{set_status, start_host, wait_until};
use zelavis::registry::prelude::*;
use zelavis::registry::store::memory::MemoryStore;

/// The scenario, for any store: `a` and `b` are separate clients of one store.
async fn two_hosts<S: RegistryStore + Clone + 'static>(a: S, b: S) {
    let scope = Scope::Default;
    let host_a = start_host(a.clone(), scope.clone(), 20).await;
    let host_b = start_host(b.clone(), scope.clone(), 20).await;

    // A installs and enables shop: both runtimes activate it, B without restart.
    set_status(&a, &scope, "shop", Status::Installed).await;
    wait_until(&host_a, "shop", true).await;
    wait_until(&host_b, "shop", true).await;
    assert!(host_b.runtime.services().get("shop-service").is_some());

    // A disables it: B tears it down.
    set_status(&a, &scope, "shop", Status::Available).await;
    wait_until(&host_b, "shop", false).await;
    assert!(host_b.runtime.services().get("shop-service").is_none());

    // Concurrent installs from both hosts lose nothing.
    let (a_names, b_names): (Vec<String>, Vec<String>) = (
        (0..10).map(|i| format!("extra-{i}")).collect(),
        (10..20).map(|i| format!("extra-{i}")).collect(),
    );
    let from_a = a_names.iter().map(|n| set_status(&a, &scope, n, Status::Installed));
    let from_b = b_names.iter().map(|n| set_status(&b, &scope, n, Status::Installed));
    futures::future::join(futures::future::join_all(from_a), futures::future::join_all(from_b)).await;
    let state = b.load(&scope).await.expect("load").state;
    for i in 0..20 {
        let name = format!("extra-{i}");
        assert_eq!(
            state.get(&name).map(|r| r.status),
            Some(Status::Installed),
            "{name} lost"
        );
        wait_until(&host_a, &name, true).await;
        wait_until(&host_b, &name, true).await;
    }
    // Recomposition was incremental: shop set up twice on B (install, then nothing else re-ran it).
    assert_eq!(
        host_b.setups.load(Ordering::SeqCst),
        21,
        "B set up shop once and each extra once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hosts_on_one_memory_store() {
    let store = MemoryStore::new();
    two_hosts(store.clone(), store).await;
}
