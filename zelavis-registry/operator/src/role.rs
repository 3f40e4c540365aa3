//! Who may do what: [`Role`]s (viewer < operator < owner), the [`Actor`] every mutating call names, and the
//! pluggable [`Authenticator`] that turns a request's credentials into one.

use std::collections::HashMap;
use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// What an actor may do. Ordered: each role may do everything the ones below it may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything, changes nothing.
    Viewer,
    /// Manages tenants, grants, pins, settings, deprecations and rollouts.
    Operator,
    /// Also removes plugins from the catalog and flips kill switches.
    Owner,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Owner => "owner",
        })
    }
}

/// Who is acting: an id (recorded in the audit log) and a role.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// The actor's id, e.g. an e-mail address or `system:rollout-judge`.
    pub id: String,
    /// Their role.
    pub role: Role,
}

impl Actor {
    /// An actor.
    pub fn new(id: impl Into<String>, role: Role) -> Self {
        Self { id: id.into(), role }
    }

    /// The operator layer itself, acting on its own decision (an automatic rollback): an owner.
    pub fn system(what: &str) -> Self {
        Self::new(format!("system:{what}"), Role::Owner)
    }
}

/// Why credentials were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No credentials were given.
    #[error("no credentials: send `authorization: Bearer <token>`")]
    Missing,
    /// The credentials are not known.
    #[error("the credentials are not valid")]
    Invalid,
}

/// Turns a request's bearer token into an [`Actor`]. Hosts plug in their own (sessions, OIDC, ...).
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// The actor the token belongs to.
    async fn authenticate(&self, token: &str) -> Result<Actor, AuthError>;
}

/// A fixed table of tokens, for a single-operator host, tests and the CLI's local mode.
///
/// ```
/// use zelavis_operator::role::{Actor, Authenticator, Role, StaticTokens};
///
/// # futures::executor::block_on(async {
/// let auth = StaticTokens::new().token("s3cret", Actor::new("ops@example.com", Role::Owner));
/// assert_eq!(auth.authenticate("s3cret").await.unwrap().role, Role::Owner);
/// assert!(auth.authenticate("guess").await.is_err());
/// # });
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticTokens {
    tokens: HashMap<String, Actor>,
}

impl StaticTokens {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a token.
    pub fn token(mut self, token: impl Into<String>, actor: Actor) -> Self {
        self.tokens.insert(token.into(), actor);
        self
    }
}

#[async_trait]
impl Authenticator for StaticTokens {
    async fn authenticate(&self, token: &str) -> Result<Actor, AuthError> {
        if token.is_empty() {
            return Err(AuthError::Missing);
        }
        // Compare every token in constant time per byte, so timing does not reveal a prefix.
        let mut found = None;
        for (known, actor) in &self.tokens {
            if known.len() == token.len()
                && known.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
            {
                found = Some(actor.clone());
            }
        }
        found.ok_or(AuthError::Invalid)
    }
}
