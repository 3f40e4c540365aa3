//! [`RedisStore`]: registry state in Redis (feature `redis`), with compare-and-swap saves in a Lua script and
//! change hints over pub/sub.
//!
//! **This backend needs a tokio runtime**: the `redis` crate's async connections (`tokio-comp`) run on it.
//!
//! # Keys
//!
//! Every key starts with the store's prefix (`zelavis` in most hosts; one prefix per registry):
//!
//! - `<prefix>:state:<scope key>` is a string holding the state document,
//!   `{"format": 1, "revision": n, "state": {"records": [...]}}` (the same document the file store writes), e.g.
//!   `zelavis:state:default` or `zelavis:state:tenant:acme`;
//! - `<prefix>:migrations` is a hash, one field per migration applied in a scope — `["<plugin>","<id>"]` for
//!   the default scope, `["tenant:<name>","<plugin>","<id>"]` for a tenant's — whose value is when, in Unix
//!   seconds; `HSETNX` makes the first recording win;
//! - `<prefix>:changes` is the pub/sub channel of change hints.
//!
//! # Compare-and-swap
//!
//! A save runs one Lua script, atomically on the server: it reads the stored document, refuses to touch one
//! that is unreadable (not JSON, or missing a valid `format`, `revision` or `state`) or of a newer format, answers
//! the actual revision when it differs from the expected one (a [`StoreError::Conflict`] naming both), and
//! otherwise writes the new document at revision + 1 and publishes `{"scope": "...", "revision": n}`. The script
//! checks the document's envelope only; [`RegistryStore::load`] decodes it fully.
//!
//! # Watch
//!
//! [`RegistryStore::watch`] subscribes to `<prefix>:changes` on a dedicated connection. Redis pub/sub is
//! at-most-once: a hint is lost while no subscriber is connected and never replayed, so treat hints as a reason
//! to re-read, and re-read every scope you care about after watching again (the stream ends with its
//! connection).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use futures::future::ready;
use futures::stream::{BoxStream, StreamExt};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, RedisError};
use serde::{Deserialize, Serialize};
use zelavis_core::name::Name;

use super::local::ScopeLocks;
use super::{
    Change, FORMAT_VERSION, RegistryStore, Retry, Revision, Scope, StateChange, StoreError, Stored, decode_document,
    encode_document,
};
use crate::ledger::MigrationLedger;
use crate::state::RegistryState;

/// How long one command may take (a save of a very large state included).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long to wait for a connection.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// The compare-and-swap. `KEYS[1]`: the state key. `ARGV`: expected revision (decimal), new document, channel,
/// hint, newest readable format. Answers `{status, detail}`: `ok`, `conflict` (the actual revision), `newer` (the
/// format found) or `corrupt` (why).
///
/// Revisions are compared as decimal text, never as Lua numbers (doubles, exact only below 2^53): the stored
/// revision is read from the document's own text, which this store writes with `format` then `revision` first.
/// The new revision is computed, and refused at the limit, by the client.
const SAVE_SCRIPT: &str = r#"
local stored = redis.pcall('GET', KEYS[1])
if type(stored) == 'table' and stored.err then
  return {'corrupt', 'the key does not hold a string: ' .. stored.err}
end
local actual = '0'
if stored then
  local ok, doc = pcall(cjson.decode, stored)
  if not ok or type(doc) ~= 'table' then
    return {'corrupt', 'not a zelavis state document (not a JSON object)'}
  end
  local format = doc['format']
  if type(format) ~= 'number' or format < 1 or format ~= math.floor(format) then
    return {'corrupt', 'not a zelavis state document (no valid format)'}
  end
  if format > tonumber(ARGV[5]) then
    return {'newer', string.format('%d', format)}
  end
  if type(doc['state']) ~= 'table' then
    return {'corrupt', 'the document has no state object'}
  end
  local digits = string.match(stored, '^%s*{%s*"format"%s*:%s*%d+%s*,%s*"revision"%s*:%s*(%d+)%s*,')
  if not digits then
    return {'corrupt', 'the document has no valid revision'}
  end
  actual = string.gsub(digits, '^0+(%d)', '%1')
end
if actual ~= ARGV[1] then
  return {'conflict', actual}
end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PUBLISH', ARGV[3], ARGV[4])
return {'ok', ARGV[1]}
"#;

/// Registry state in Redis. Clones share one auto-reconnecting multiplexed connection.
///
/// ```no_run
/// use zelavis_registry::state::RegistryState;
/// use zelavis_registry::store::redis::RedisStore;
/// use zelavis_registry::store::{RegistryStore, Scope, StoreError};
///
/// # async fn demo() -> Result<(), StoreError> {
/// // Inside a tokio runtime.
/// let store = RedisStore::connect("redis://127.0.0.1:6379/", "zelavis").await?;
/// let acme = Scope::tenant("acme").expect("a valid name");
/// let current = store.load(&acme).await?;
/// store.save(&acme, &RegistryState::default(), current.revision).await?;
/// // A save based on a stale revision is refused, naming both revisions.
/// let stale = store.save(&acme, &RegistryState::default(), current.revision).await;
/// assert!(stale.unwrap_err().is_conflict());
///
/// // Another host hears about the change (a hint: re-read the scope).
/// use futures::StreamExt;
/// if let Some(mut changes) = store.watch().await? {
///     while let Some(change) = changes.next().await {
///         let fresh = store.load(&change.scope).await?;
///         # let _ = fresh;
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    client: Client,
    connection: ConnectionManager,
    prefix: String,
    /// `redis host:port/db prefix p`, for messages.
    name: String,
    /// This host's updates of a scope take turns; shared by clones.
    turns: ScopeLocks,
}

/// The change hint published after a save.
#[derive(Serialize, Deserialize)]
struct Hint {
    scope: String,
    revision: u64,
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("store", &self.name)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// Connects to Redis at `url` (e.g. `redis://127.0.0.1:6379/`) and keeps every key under `prefix` (not
    /// empty, no whitespace or control characters). Needs a tokio runtime.
    pub async fn connect(url: &str, prefix: &str) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(|e| StoreError::Backend {
            store: "redis".to_owned(),
            message: format!("invalid connection URL: {e}"),
        })?;
        let info = client.get_connection_info();
        let name = format!("redis {}/{} prefix {prefix}", info.addr(), info.redis_settings().db());
        if prefix.is_empty() || prefix.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(StoreError::Backend {
                store: name,
                message: format!("key prefix {prefix:?} is empty or holds whitespace or control characters"),
            });
        }
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECTION_TIMEOUT));
        let connection = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| StoreError::Backend {
                store: name.clone(),
                message: format!("cannot connect: {e}"),
            })?;
        Ok(RedisStore {
            client,
            connection,
            prefix: prefix.to_owned(),
            name,
            turns: ScopeLocks::default(),
        })
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The key holding the state document of `scope`: `<prefix>:state:<scope key>`.
    pub fn state_key(&self, scope: &Scope) -> String {
        format!("{}:state:{}", self.prefix, scope.key())
    }

    /// The hash of applied migrations: `<prefix>:migrations`.
    pub fn migrations_key(&self) -> String {
        format!("{}:migrations", self.prefix)
    }

    /// The pub/sub channel of change hints: `<prefix>:changes`.
    pub fn changes_channel(&self) -> String {
        format!("{}:changes", self.prefix)
    }

    fn backend(&self, context: &str, error: &RedisError) -> StoreError {
        StoreError::Backend {
            store: self.name.clone(),
            message: format!("{context}: {error}"),
        }
    }

    fn migration_field(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<String, StoreError> {
        match scope {
            Scope::Default => serde_json::to_string(&(plugin.as_str(), id)),
            Scope::Tenant(_) => serde_json::to_string(&(scope.key(), plugin.as_str(), id)),
        }
        .map_err(|e| self.encoding_error("a ledger field", &e))
    }

    fn encoding_error(&self, what: &str, error: &serde_json::Error) -> StoreError {
        StoreError::Backend {
            store: self.name.clone(),
            message: format!("cannot encode {what}: {error}"),
        }
    }
}

#[async_trait]
impl RegistryStore for RedisStore {
    fn describe(&self) -> String {
        self.name.clone()
    }

    async fn load(&self, scope: &Scope) -> Result<Stored, StoreError> {
        let key = self.state_key(scope);
        let stored: Option<Vec<u8>> = match redis::cmd("GET")
            .arg(&key)
            .query_async(&mut self.connection.clone())
            .await
        {
            Ok(stored) => stored,
            Err(e) if e.code() == Some("WRONGTYPE") => {
                return Err(StoreError::Corrupt {
                    store: self.name.clone(),
                    location: key,
                    reason: "the key does not hold a string".to_owned(),
                });
            }
            Err(e) => return Err(self.backend(&format!("cannot load scope {scope}"), &e)),
        };
        match stored {
            None => Ok(Stored::default()),
            Some(bytes) => {
                let (state, revision) = decode_document(&bytes, &self.name, &key)?;
                Ok(Stored { state, revision })
            }
        }
    }

    async fn save(&self, scope: &Scope, state: &RegistryState, expected: Revision) -> Result<Revision, StoreError> {
        let key = self.state_key(scope);
        let revision = expected.after(u64::MAX, &self.name, scope)?;
        let document = encode_document(state, revision);
        let hint = serde_json::to_string(&Hint {
            scope: scope.key(),
            revision: revision.0,
        })
        .map_err(|e| self.encoding_error("the change hint", &e))?;
        let (status, detail): (String, String) = redis::cmd("EVAL")
            .arg(SAVE_SCRIPT)
            .arg(1)
            .arg(&key)
            .arg(expected.0.to_string())
            .arg(document)
            .arg(self.changes_channel())
            .arg(hint)
            .arg(FORMAT_VERSION)
            .query_async(&mut self.connection.clone())
            .await
            .map_err(|e| self.backend(&format!("cannot save scope {scope}"), &e))?;
        let unexpected = || StoreError::Backend {
            store: self.name.clone(),
            message: format!("the save script answered {status:?} {detail:?}"),
        };
        match status.as_str() {
            "ok" => Ok(revision),
            "conflict" => Err(StoreError::Conflict {
                store: self.name.clone(),
                scope: scope.key(),
                expected,
                actual: Revision(detail.parse().map_err(|_| unexpected())?),
            }),
            "newer" => Err(StoreError::NewerFormat {
                store: self.name.clone(),
                location: key,
                found: detail.parse().map_err(|_| unexpected())?,
                supported: FORMAT_VERSION,
            }),
            "corrupt" => Err(StoreError::Corrupt {
                store: self.name.clone(),
                location: key,
                reason: detail,
            }),
            _ => Err(unexpected()),
        }
    }

    /// The compare-and-swap loop under `retry`, this host's updates of the scope taking turns so that only
    /// other hosts' writes can make one conflict. (The change itself cannot run server-side: it is Rust code, and
    /// Redis's Lua `cjson` does not re-encode a document faithfully — it turns empty arrays into objects.)
    async fn update(&self, scope: &Scope, change: &StateChange<'_>, retry: &Retry) -> Result<Stored, StoreError> {
        let _turn = self.turns.lock(scope).await;
        retry.update(self, scope, change).await
    }

    async fn watch(&self) -> Result<Option<BoxStream<'static, Change>>, StoreError> {
        let mut pubsub = self
            .client
            .get_async_pubsub()
            .await
            .map_err(|e| self.backend("cannot open the watch connection", &e))?;
        pubsub
            .subscribe(self.changes_channel())
            .await
            .map_err(|e| self.backend("cannot subscribe to changes", &e))?;
        let name = self.name.clone();
        let changes = pubsub.into_on_message().filter_map(move |message| {
            let change = parse_hint(message.get_payload_bytes());
            if change.is_none() {
                tracing::debug!(store = %name, "ignored a malformed change hint");
            }
            ready(change)
        });
        Ok(Some(changes.boxed()))
    }
}

#[async_trait]
impl MigrationLedger for RedisStore {
    async fn is_applied(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        redis::cmd("HEXISTS")
            .arg(self.migrations_key())
            .arg(self.migration_field(scope, plugin, id)?)
            .query_async(&mut self.connection.clone())
            .await
            .map_err(|e| self.backend("cannot read the migration ledger", &e))
    }

    async fn record(&self, scope: &Scope, plugin: &Name, id: &str) -> Result<bool, StoreError> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        redis::cmd("HSETNX")
            .arg(self.migrations_key())
            .arg(self.migration_field(scope, plugin, id)?)
            .arg(now)
            .query_async(&mut self.connection.clone())
            .await
            .map_err(|e| self.backend("cannot record a migration", &e))
    }
}

fn parse_hint(payload: &[u8]) -> Option<Change> {
    let hint: Hint = serde_json::from_slice(payload).ok()?;
    Some(Change {
        scope: hint.scope.parse().ok()?,
        revision: Revision(hint.revision),
    })
}
