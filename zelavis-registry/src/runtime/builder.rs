//! [`RuntimeBuilder`]: what a runtime is made of — registry, options, bus, timer, store — and its start-up.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::lock::Mutex;
use zelavis_core::bus::Bus;

use super::{Inner, Live, Persistence, Runtime, RuntimeError};
use crate::activation::ActivationOptions;
use crate::graph::Graph;
use crate::hash::{HashMap, HashSet, IndexMap};
use crate::health::HealthBook;
use crate::ledger::{MemoryLedger, MigrationLedger};
use crate::mount::Mounted;
use crate::plan::Touched;
use crate::record::Edit;
use crate::registry::PluginRegistry;
use crate::report::ActivationReport;
use crate::store::{RegistryStore, Revision, Scope};
use crate::timer::Timer;

/// Configures a [`Runtime`] before its first activation.
///
/// ```
/// use zelavis_registry::prelude::*;
/// use zelavis_registry::store::memory::MemoryStore;
///
/// # futures::executor::block_on(async {
/// let shop = PluginDef::builder("shop").build()?;
/// let store = MemoryStore::new();
/// let (runtime, _) = Runtime::builder(PluginRegistry::new([RegistryEntry::installed(shop.clone())])?)
///     .store(store.clone(), Scope::Default)
///     .start()
///     .await?;
/// // The store held nothing: the registry's defaults were saved, once.
/// assert_eq!(store.load(&Scope::Default).await?.revision, Revision(1));
///
/// // Every change is written back; another runtime on the same store starts from it.
/// runtime.disable("shop", Cascade::No).await?;
/// let (other, _) = Runtime::builder(PluginRegistry::new([RegistryEntry::installed(shop)])?)
///     .store(store, Scope::Default)
///     .start()
///     .await?;
/// assert!(!other.is_active("shop").await);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[must_use]
pub struct RuntimeBuilder {
    registry: PluginRegistry,
    options: ActivationOptions,
    ledger: Option<Arc<dyn MigrationLedger>>,
    store: Option<Arc<dyn RegistryStore>>,
    scope: Scope,
    bus: Bus,
    timer: Option<Arc<dyn Timer>>,
    poll: Option<Duration>,
    #[cfg(feature = "tokio")]
    follow: bool,
}

impl RuntimeBuilder {
    pub(crate) fn new(registry: PluginRegistry) -> Self {
        Self {
            registry,
            options: ActivationOptions::default(),
            ledger: None,
            store: None,
            scope: Scope::Default,
            bus: Bus::default(),
            timer: None,
            poll: None,
            #[cfg(feature = "tokio")]
            follow: false,
        }
    }

    /// Activation options (paths, platform, permission mode, timeout, contract).
    pub fn options(mut self, options: ActivationOptions) -> Self {
        self.options = options;
        self
    }

    /// Keeps the runtime's state in `store`, under `scope`: at start the runtime loads and applies the stored
    /// state (saving the registry's defaults once when there is none, and the default record of any plugin the
    /// state does not mention yet), records migrations in the store's ledger for that scope, and writes every
    /// change back with compare-and-swap — on a conflict it re-reads, takes the other host's state and applies
    /// its own change on top, so nothing either host did is lost.
    pub fn store<S>(mut self, store: S, scope: Scope) -> Self
    where
        S: RegistryStore + MigrationLedger + 'static,
    {
        let store = Arc::new(store);
        self.ledger = Some(store.clone());
        self.store = Some(store);
        self.scope = scope;
        self
    }

    /// The migration ledger, when it is not the store's (default: the store's, or one in memory).
    pub fn ledger(mut self, ledger: Arc<dyn MigrationLedger>) -> Self {
        self.ledger = Some(ledger);
        self
    }

    /// The bus hooks and filters are installed on (default: a new one).
    pub fn bus(mut self, bus: Bus) -> Self {
        self.bus = bus;
        self
    }

    /// The host runtime's timer, for setup timeouts, polling a store and backing off contended writes.
    pub fn timer(mut self, timer: impl Timer) -> Self {
        self.timer = Some(Arc::new(timer));
        self
    }

    /// How often a [`Follower`](crate::follow::Follower) re-reads the store besides its change hints (required
    /// for stores without `watch`; a safety net for the others, whose hints can be lost). Needs a timer.
    pub fn poll_every(mut self, every: Duration) -> Self {
        self.poll = Some(every);
        self
    }

    /// Follows the store from start-up on (feature `tokio`): the follower is spawned on the current tokio
    /// runtime, with [`TokioTimer`](crate::timer::TokioTimer) unless another timer was given, and stops when the
    /// last handle to the runtime is dropped.
    #[cfg(feature = "tokio")]
    pub fn follow(mut self) -> Self {
        self.follow = true;
        if self.timer.is_none() {
            self.timer = Some(Arc::new(crate::timer::TokioTimer));
        }
        self
    }

    /// Activates every installed plugin (after loading the stored state, with a store) and returns the runtime
    /// with the report.
    pub async fn start(self) -> Result<(Runtime, ActivationReport), RuntimeError> {
        if let (Some(after), None) = (self.options.timeout, &self.timer) {
            return Err(RuntimeError::NoTimer {
                after_ms: u64::try_from(after.as_millis()).unwrap_or(u64::MAX),
            });
        }
        let health = Arc::new(HealthBook::default());
        let sink_health = health.clone();
        self.bus
            .set_failure_sink(Arc::new(move |failure: &zelavis_core::bus::HandlerFailure| {
                sink_health.runtime_failure(&failure.owner, failure.to_string());
            }));
        let mut live = Live {
            graph: Graph::of(&self.registry),
            registry: self.registry,
            foreign: IndexMap::default(),
            unrecorded: HashSet::default(),
            revision: Revision::NONE,
            mounted: Mounted::default(),
            active: HashMap::default(),
            next_seq: 0,
            last_report: ActivationReport::default(),
        };
        if let Some(store) = &self.store {
            let span = tracing::info_span!("load", store = %store.describe(), scope = %self.scope);
            let stored = tracing::Instrument::instrument(store.load(&self.scope), span.clone()).await?;
            // The registry's defaults for every plugin the state does not mention yet, saved once.
            let missing: Vec<Edit> = live
                .registry
                .iter()
                .filter(|e| stored.state.get(e.name().as_str()).is_none())
                .map(|e| Edit::Upsert(e.record.clone()))
                .collect();
            let stored = if missing.is_empty() {
                stored
            } else {
                tracing::debug!(parent: &span, records = missing.len(), "saving default records");
                let add = |state: &mut crate::state::RegistryState| {
                    for edit in &missing {
                        if state.get(edit.name().as_str()).is_none() {
                            edit.apply(&mut state.records);
                        }
                    }
                };
                let mut retry = crate::store::Retry::default();
                if let Some(timer) = &self.timer {
                    retry = retry.timer(timer.clone());
                }
                store.update(&self.scope, &add, &retry).await?
            };
            super::change::adopt_records(&mut live, &stored.state.records);
            live.revision = stored.revision;
        }
        let runtime = Runtime {
            inner: Arc::new(Inner {
                live: Mutex::new(live),
                view: RwLock::new(Arc::default()),
                bus: self.bus,
                health,
                ledger: self.ledger.unwrap_or_else(|| Arc::new(MemoryLedger::new())),
                scope: self.scope,
                persistence: self.store.map(|store| Persistence { store }),
                options: self.options,
                timer: self.timer,
                poll: self.poll,
                generation: std::sync::atomic::AtomicU64::new(0),
            }),
        };
        let report = {
            let mut live = runtime.inner.live.lock().await;
            let span = tracing::info_span!("resolve", plugins = live.registry.len());
            let report = tracing::Instrument::instrument(runtime.recompose(&mut live, &Touched::All), span).await;
            live.last_report = report.clone();
            report
        };
        #[cfg(feature = "tokio")]
        if self.follow {
            let follower = runtime.follower()?;
            tokio::spawn(follower.run());
        }
        Ok((runtime, report))
    }
}
