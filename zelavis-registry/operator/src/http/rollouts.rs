//! Publishing: `POST /plugins/{id}/publish` (a multipart upload of a signed bundle) and `/rollouts`, the
//! wizard's state machine — canary, judge, promote, pause, resume, roll back, and resuming an interrupted one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use semver::Version;
use serde::Deserialize;
use serde_json::json;
use zelavis_core::name::Name;

use super::error::ApiError;
use super::extract::{Authed, JsonBody, QueryOf, Segments};
use super::{Shared, answer, plugin_name, tenant_name};
use crate::error::{OperatorError, parse_version};
use crate::judge::JudgeConfig;
use crate::operator::require;
use crate::role::{Actor, Role};
use crate::rollout::{PublishOptions, Rollout};
use crate::signature::SignedRelease;

type St = State<Arc<Shared>>;

/// The parts `POST /plugins/{id}/publish` takes.
const PARTS: [&str; 10] = [
    "bundle",
    "signature",
    "tenant",
    "backport",
    "wait",
    "window",
    "ratio",
    "floor",
    "min_requests",
    "breaches_to_rollback",
];
/// The longest text part (everything but `bundle` and `signature`), in bytes.
const MAX_TEXT_PART: usize = 256;
/// The longest wait or window accepted: ten years.
const MAX_SECONDS: f64 = 10.0 * 365.0 * 24.0 * 3600.0;

/// `GET /rollouts?open=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    #[serde(default)]
    open: bool,
}

/// `POST .../canary`: `{tenants}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CanaryBody {
    tenants: Vec<String>,
}

/// `POST .../promote`, `.../pause`, `.../resume`: `{reason?}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonBody {
    #[serde(default)]
    reason: Option<String>,
}

/// `POST .../rollback`: `{reason}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RollbackBody {
    reason: String,
}

/// `POST .../judge`, `.../resume-rollout`: nothing (or `{}`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoBody {}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::InvalidBody {
        message: message.into(),
    }
}

/// The caller may change rollouts (the judge route calls the operator as the system's judge, so it checks here).
fn require_operator(actor: &Actor, action: &'static str) -> Result<(), ApiError> {
    Ok(require(actor, Role::Operator, action)?)
}

fn release(plugin: &str, version: &str) -> Result<(Name, Version), ApiError> {
    Ok((plugin_name(plugin)?, parse_version(version)?))
}

fn reason_or(reason: Option<String>, default: &str) -> String {
    match reason {
        Some(text) if !text.trim().is_empty() => text,
        _ => default.to_owned(),
    }
}

// ------------------------------------------------------------------ publish

/// The upload's parts, each at most once.
#[derive(Default)]
struct Upload {
    parts: BTreeMap<&'static str, Vec<u8>>,
}

impl Upload {
    async fn read(multipart: &mut Multipart, limit: usize) -> Result<Self, ApiError> {
        let mut upload = Upload::default();
        loop {
            let field = match multipart.next_field().await {
                Ok(Some(field)) => field,
                Ok(None) => break,
                Err(error) => return Err(multipart_error(&error, limit)),
            };
            let Some(name) = field.name().map(str::to_owned) else {
                return Err(invalid("a part has no name"));
            };
            let Some(&known) = PARTS.iter().find(|p| **p == name) else {
                return Err(invalid(format!(
                    "unknown part `{}` (expected {})",
                    name.chars().take(64).collect::<String>(),
                    PARTS.join(", ")
                )));
            };
            if upload.parts.contains_key(known) {
                return Err(invalid(format!("the part `{known}` is sent twice")));
            }
            let bytes = field.bytes().await.map_err(|error| multipart_error(&error, limit))?;
            if known != "bundle" && known != "signature" && bytes.len() > MAX_TEXT_PART {
                return Err(invalid(format!(
                    "the part `{known}` is longer than {MAX_TEXT_PART} bytes"
                )));
            }
            upload.parts.insert(known, bytes.to_vec());
        }
        Ok(upload)
    }

    fn take(&mut self, name: &'static str) -> Result<Vec<u8>, ApiError> {
        self.parts
            .remove(name)
            .ok_or_else(|| invalid(format!("the part `{name}` is missing")))
    }

    /// A text part; an empty one (a blank form field) counts as absent.
    fn text(&self, name: &'static str) -> Result<Option<&str>, ApiError> {
        match self.parts.get(name) {
            None => Ok(None),
            Some(bytes) => {
                let text = std::str::from_utf8(bytes)
                    .map_err(|_| invalid(format!("the part `{name}` is not UTF-8 text")))?
                    .trim();
                Ok(if text.is_empty() { None } else { Some(text) })
            }
        }
    }

    fn number<T: std::str::FromStr>(&self, name: &'static str, what: &str) -> Result<Option<T>, ApiError> {
        self.text(name)?
            .map(|text| {
                text.parse::<T>()
                    .map_err(|_| invalid(format!("the part `{name}` must be {what} (got {text:?})")))
            })
            .transpose()
    }

    fn seconds(&self, name: &'static str, min: f64) -> Result<Option<Duration>, ApiError> {
        let Some(secs) = self.number::<f64>(name, "a number of seconds")? else {
            return Ok(None);
        };
        if !(min..=MAX_SECONDS).contains(&secs) {
            return Err(invalid(format!(
                "the part `{name}` must be between {min} and {MAX_SECONDS} seconds"
            )));
        }
        Duration::try_from_secs_f64(secs)
            .map(Some)
            .map_err(|e| invalid(format!("the part `{name}`: {e}")))
    }

    fn backport(&self) -> Result<bool, ApiError> {
        match self.text("backport")?.map(str::to_ascii_lowercase).as_deref() {
            None | Some("false" | "0" | "off" | "no") => Ok(false),
            Some("true" | "1" | "on" | "yes") => Ok(true),
            Some(other) => Err(invalid(format!(
                "the part `backport` must be true or false (got {other:?})"
            ))),
        }
    }

    fn options(&self) -> Result<PublishOptions, ApiError> {
        let defaults = PublishOptions::default();
        let mut judge = JudgeConfig::default();
        if let Some(window) = self.seconds("window", 1.0)? {
            judge.window = window;
        }
        if let Some(ratio) = self.number::<f64>("ratio", "a number")? {
            if !ratio.is_finite() || ratio <= 0.0 {
                return Err(invalid("the part `ratio` must be a number above 0"));
            }
            judge.ratio = ratio;
        }
        if let Some(floor) = self.number::<f64>("floor", "a number")? {
            if !(0.0..=1.0).contains(&floor) {
                return Err(invalid("the part `floor` must be an error rate from 0 to 1"));
            }
            judge.floor = floor;
        }
        if let Some(min) = self.number::<u64>("min_requests", "a whole number")? {
            judge.min_requests = min;
        }
        if let Some(breaches) = self.number::<u32>("breaches_to_rollback", "a whole number")? {
            if breaches == 0 {
                return Err(invalid("the part `breaches_to_rollback` must be at least 1"));
            }
            judge.breaches_to_rollback = breaches;
        }
        Ok(PublishOptions {
            backport: self.backport()?,
            wait: self.seconds("wait", 0.0)?.unwrap_or(defaults.wait),
            judge,
        })
    }
}

fn multipart_error(error: &axum::extract::multipart::MultipartError, limit: usize) -> ApiError {
    match error.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge { limit },
        status if status.is_client_error() => {
            ApiError::bad_request(format!("malformed multipart body: {}", error.body_text()))
        }
        _ => {
            tracing::warn!(error = %error.body_text(), "a publish upload could not be read");
            ApiError::Internal
        }
    }
}

/// `POST /plugins/{id}/publish`: `multipart/form-data` with `bundle` (the `.tar.gz`), `signature` (the
/// signed release record's JSON), `tenant` (the publishing tenant) and optionally `backport`, `wait` (seconds)
/// and the judge's `window` (seconds), `ratio`, `floor`, `min_requests`, `breaches_to_rollback`.
pub(crate) async fn publish(
    State(shared): St,
    Authed(actor): Authed,
    Segments(id): Segments<String>,
    request: Request,
) -> Result<Response, ApiError> {
    require_operator(&actor, "publish a plugin")?;
    let id = plugin_name(&id)?;
    let limit = shared.options.upload_limit;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return Err(ApiError::NotMultipart {
            content_type: if content_type.is_empty() {
                "nothing".to_owned()
            } else {
                content_type.chars().take(64).collect()
            },
        });
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(ApiError::TooLarge { limit });
    }
    let mut multipart = Multipart::from_request(request, &shared)
        .await
        .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    let mut upload = Upload::read(&mut multipart, limit).await?;
    let options = upload.options()?;
    let tenant = tenant_name(
        upload
            .text("tenant")?
            .ok_or_else(|| invalid("the part `tenant` is missing"))?,
    )?;
    let bundle = upload.take("bundle")?;
    let signature = upload.take("signature")?;
    let signature = std::str::from_utf8(&signature).map_err(|_| OperatorError::SignatureRefused {
        code: "malformed_signature",
        reason: "the signature file is not UTF-8 JSON".to_owned(),
    })?;
    let signed = SignedRelease::from_json(signature).map_err(|e| OperatorError::SignatureRefused {
        code: e.code(),
        reason: e.to_string(),
    })?;
    if signed.record.plugin != id.as_str() {
        return Err(OperatorError::SignatureRefused {
            code: "wrong_release",
            reason: format!(
                "the signature is for {}@{}, uploaded to plugin {id}",
                signed.record.plugin.chars().take(64).collect::<String>(),
                signed.record.version
            ),
        }
        .into());
    }
    let rollout = shared
        .operator
        .publish(&actor, tenant.as_str(), &bundle, &signed, options)
        .await?;
    Ok(answer(StatusCode::CREATED, &rollout))
}

// ------------------------------------------------------------------ rollouts

pub(crate) async fn list(
    State(shared): St,
    Authed(actor): Authed,
    QueryOf(query): QueryOf<ListQuery>,
) -> Result<Response, ApiError> {
    let rollouts = sorted(shared.operator.rollouts(&actor, query.open).await?);
    Ok(answer(StatusCode::OK, &json!({ "rollouts": rollouts })))
}

pub(crate) async fn of_plugin(
    State(shared): St,
    Authed(actor): Authed,
    Segments(id): Segments<String>,
    QueryOf(query): QueryOf<ListQuery>,
) -> Result<Response, ApiError> {
    let id = plugin_name(&id)?;
    let rollouts: Vec<Rollout> = shared
        .operator
        .rollouts(&actor, query.open)
        .await?
        .into_iter()
        .filter(|r| r.plugin == id)
        .collect();
    Ok(answer(
        StatusCode::OK,
        &json!({ "plugin": id, "rollouts": sorted(rollouts) }),
    ))
}

/// Newest first.
fn sorted(mut rollouts: Vec<Rollout>) -> Vec<Rollout> {
    rollouts.sort_by(|a, b| {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| a.plugin.cmp(&b.plugin))
            .then_with(|| b.version.cmp(&a.version))
    });
    rollouts
}

pub(crate) async fn get(
    State(shared): St,
    Authed(actor): Authed,
    Segments((plugin, version)): Segments<(String, String)>,
) -> Result<Response, ApiError> {
    let (plugin, version) = release(&plugin, &version)?;
    let rollout = shared.operator.rollout(&actor, plugin.as_str(), &version).await?;
    Ok(answer(StatusCode::OK, &rollout))
}

pub(crate) async fn canary(
    State(shared): St,
    Authed(actor): Authed,
    Segments((plugin, version)): Segments<(String, String)>,
    JsonBody(body): JsonBody<CanaryBody>,
) -> Result<Response, ApiError> {
    let (plugin, version) = release(&plugin, &version)?;
    let tenants = body
        .tenants
        .iter()
        .map(|t| tenant_name(t))
        .collect::<Result<Vec<Name>, ApiError>>()?;
    if tenants.is_empty() {
        return Err(invalid("`tenants` must name at least one canary tenant"));
    }
    let rollout = shared
        .operator
        .start_canary(&actor, plugin.as_str(), &version, &tenants)
        .await?;
    Ok(answer(StatusCode::OK, &rollout))
}

pub(crate) async fn judge(
    State(shared): St,
    Authed(actor): Authed,
    Segments((plugin, version)): Segments<(String, String)>,
    JsonBody(NoBody {}): JsonBody<NoBody>,
) -> Result<Response, ApiError> {
    require_operator(&actor, "judge a rollout")?;
    let (plugin, version) = release(&plugin, &version)?;
    let rollout = shared
        .operator
        .judge_rollout(plugin.as_str(), &version, &shared.monitor)
        .await?;
    Ok(answer(StatusCode::OK, &rollout))
}

/// The moves that take an optional reason: `promote`, `pause` and `resume`.
#[derive(Clone, Copy)]
enum Move {
    Promote,
    Pause,
    Resume,
}

/// Makes `step` on the rollout `plugin@version`, with `reason` or the step's own.
async fn make(
    shared: &Shared,
    actor: &Actor,
    (plugin, version): (String, String),
    reason: Option<String>,
    step: Move,
) -> Result<Response, ApiError> {
    let (plugin, version) = release(&plugin, &version)?;
    let (plugin, operator) = (plugin.as_str(), &shared.operator);
    let rollout = match step {
        Move::Promote => {
            let reason = reason_or(reason, "promoted");
            operator.promote(actor, plugin, &version, &reason).await?
        }
        Move::Pause => {
            let reason = reason_or(reason, "paused");
            operator.pause(actor, plugin, &version, &reason).await?
        }
        Move::Resume => {
            let reason = reason_or(reason, "resumed");
            operator.resume(actor, plugin, &version, &reason).await?
        }
    };
    Ok(answer(StatusCode::OK, &rollout))
}

pub(crate) async fn promote(
    State(shared): St,
    Authed(actor): Authed,
    Segments(path): Segments<(String, String)>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Response, ApiError> {
    make(&shared, &actor, path, body.reason, Move::Promote).await
}

pub(crate) async fn pause(
    State(shared): St,
    Authed(actor): Authed,
    Segments(path): Segments<(String, String)>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Response, ApiError> {
    make(&shared, &actor, path, body.reason, Move::Pause).await
}

pub(crate) async fn resume(
    State(shared): St,
    Authed(actor): Authed,
    Segments(path): Segments<(String, String)>,
    JsonBody(body): JsonBody<ReasonBody>,
) -> Result<Response, ApiError> {
    make(&shared, &actor, path, body.reason, Move::Resume).await
}

pub(crate) async fn rollback(
    State(shared): St,
    Authed(actor): Authed,
    Segments((plugin, version)): Segments<(String, String)>,
    JsonBody(body): JsonBody<RollbackBody>,
) -> Result<Response, ApiError> {
    let (plugin, version) = release(&plugin, &version)?;
    if body.reason.trim().is_empty() {
        return Err(invalid("`reason` must not be empty: a rollback says why"));
    }
    let rollout = shared
        .operator
        .rollback(&actor, plugin.as_str(), &version, &body.reason)
        .await?;
    Ok(answer(StatusCode::OK, &rollout))
}

pub(crate) async fn resume_rollout(
    State(shared): St,
    Authed(actor): Authed,
    Segments((plugin, version)): Segments<(String, String)>,
    JsonBody(NoBody {}): JsonBody<NoBody>,
) -> Result<Response, ApiError> {
    let (plugin, version) = release(&plugin, &version)?;
    let rollout = shared
        .operator
        .resume_rollout(&actor, plugin.as_str(), &version)
        .await?;
    Ok(answer(StatusCode::OK, &rollout))
}
