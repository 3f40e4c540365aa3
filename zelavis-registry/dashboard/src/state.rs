//! The dashboard's shared state: the runtime, the options, and what is cached per runtime generation.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use axum::body::Bytes;
use zelavis_core::address::PageAddress;
use zelavis_core::paths::ApiPaths;
use zelavis_registry::controller::{ActivationController, RuntimeGraphController};
use zelavis_registry::dashboard::{DashboardSources, Marketplace, Navigation};
use zelavis_registry::registry::RegistryEntry;
use zelavis_registry::runtime::Runtime;

use crate::options::DashboardOptions;

/// What is derived from one runtime generation.
pub(crate) struct Snapshot {
    pub(crate) generation: u64,
    pub(crate) sources: DashboardSources,
    pub(crate) navigation_json: Bytes,
    /// `(plugin, page)` of every page the navigation addresses, with whether its plugin runs.
    pub(crate) pages: HashMap<(String, String), bool>,
}

pub(crate) struct Shared {
    pub(crate) runtime: Runtime,
    pub(crate) options: DashboardOptions,
    pub(crate) controller: Arc<dyn ActivationController>,
    pub(crate) paths: ApiPaths,
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    /// Specifier → whether the loader loads it (loaders are deterministic for a given specifier).
    loadable: RwLock<HashMap<String, bool>>,
    reconcile: tokio::sync::Mutex<()>,
}

impl Shared {
    pub(crate) fn new(runtime: Runtime, options: DashboardOptions) -> Self {
        let controller = options
            .controller
            .clone()
            .unwrap_or_else(|| Arc::new(RuntimeGraphController::new(runtime.clone())));
        let paths = runtime.options().api_paths().clone();
        Self {
            runtime,
            options,
            controller,
            paths,
            snapshot: RwLock::new(None),
            loadable: RwLock::new(HashMap::new()),
            reconcile: tokio::sync::Mutex::new(()),
        }
    }

    /// The snapshot of the runtime's current generation, rebuilt when the runtime changed.
    pub(crate) async fn snapshot(&self) -> Arc<Snapshot> {
        let generation = self.runtime.generation();
        if let Some(current) = self.snapshot.read().unwrap_or_else(PoisonError::into_inner).as_ref()
            && current.generation == generation
        {
            return current.clone();
        }
        self.adopt_foreign().await;
        let sources = DashboardSources::capture(&self.runtime)
            .await
            .with_paths(self.paths.clone());
        let sources = match sources.clone().with_core_services(&self.options.core_services) {
            Ok(sources) => sources,
            Err(error) => {
                tracing::error!(%error, "a core service was refused; the dashboard shows the plugins' services only");
                sources
            }
        };
        let navigation = Navigation::build(&sources);
        let mut pages = HashMap::new();
        for item in navigation.walk() {
            let Some(page) = &item.page else { continue };
            let Ok(address) = PageAddress::parse_in(&page.src, &self.paths) else {
                continue;
            };
            let active = item.plugin.is_none() || is_active(&navigation, address.plugin.as_str());
            pages.insert((address.plugin.to_string(), address.page.to_string()), active);
        }
        let navigation_json = Bytes::from(serde_json::to_vec(&navigation).unwrap_or_default());
        let snapshot = Arc::new(Snapshot {
            generation: sources.generation,
            sources,
            navigation_json,
            pages,
        });
        *self.snapshot.write().unwrap_or_else(PoisonError::into_inner) = Some(snapshot.clone());
        snapshot
    }

    /// Installs, from the loader, the plugins another host on the same store installed and this one does not
    /// know yet (their records arrived with the follower): so dashboards on one store converge.
    async fn adopt_foreign(&self) {
        let Some(loader) = &self.options.loader else {
            return;
        };
        let Ok(_guard) = self.reconcile.try_lock() else {
            return;
        };
        let state = self.runtime.state().await;
        let registry = self.runtime.registry().await;
        for record in state.records.iter().filter(|r| !registry.contains(r.name.as_str())) {
            let specifier = record.specifier_or_name().to_owned();
            let def = match loader.load(&specifier).await.and_then(|m| m.resolve(&specifier)) {
                Ok(def) if def.name() == &record.name => def,
                Ok(_) | Err(_) => continue,
            };
            let entry = RegistryEntry::with_record(def, record.clone());
            match self.runtime.install(entry).await {
                Ok(_) => tracing::info!(plugin = %record.name, "installed a plugin another host installed"),
                Err(error) => tracing::warn!(plugin = %record.name, %error, "could not take another host's plugin"),
            }
        }
    }

    /// Whether the loader loads `specifier` (remembered per specifier).
    pub(crate) async fn loadable(&self, specifier: &str) -> bool {
        let Some(loader) = &self.options.loader else {
            return false;
        };
        if let Some(known) = self
            .loadable
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(specifier)
        {
            return *known;
        }
        let ok = loader.load(specifier).await.and_then(|m| m.resolve(specifier)).is_ok();
        self.loadable
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(specifier.to_owned(), ok);
        ok
    }

    /// The Marketplace for a snapshot.
    pub(crate) async fn marketplace(&self, snapshot: &Snapshot) -> Marketplace {
        let mut known = HashMap::new();
        for entry in self.options.catalog.iter() {
            if snapshot.sources.registry.contains(entry.name.as_str()) {
                continue;
            }
            let specifier = entry.specifier.clone().unwrap_or_else(|| entry.name.to_string());
            let ok = self.loadable(&specifier).await;
            known.insert(specifier, ok);
        }
        Marketplace::build(
            &snapshot.sources,
            &self.options.catalog,
            self.controller.capabilities(),
            &|specifier| known.get(specifier).copied().unwrap_or(false),
        )
    }
}

fn is_active(navigation: &Navigation, plugin: &str) -> bool {
    navigation
        .section("workspace")
        .and_then(|w| {
            w.items
                .iter()
                .find(|i| i.plugin.as_ref().is_some_and(|p| p == plugin) && i.active.is_some())
        })
        .and_then(|i| i.active)
        .unwrap_or(false)
}
