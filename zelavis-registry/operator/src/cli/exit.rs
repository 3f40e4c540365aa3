//! Failures and the stable exit codes they map to (the table is in the [module docs](super)).

use std::process::ExitCode;

use serde_json::{Value, json};
use zelavis_operator::audit::AuditError;
use zelavis_operator::error::OperatorError;
use zelavis_operator::rollout::Rollout;
use zelavis_operator::signature::SignatureError;
use zelavis_operator::store::OperatorStoreError;

use super::output::Output;

/// Success.
pub(crate) const OK: u8 = 0;
/// The operator refused (403, 422 and other refusals).
pub(crate) const REFUSED: u8 = 1;
/// A usage error (clap's, or an unreadable input file, or an unsupported store URL).
pub(crate) const USAGE: u8 = 2;
/// Not found (404).
pub(crate) const NOT_FOUND: u8 = 3;
/// A conflict with the current state (409).
pub(crate) const CONFLICT: u8 = 4;
/// The store is unreachable or failed.
pub(crate) const STORE: u8 = 5;
/// The audit log failed verification.
pub(crate) const AUDIT: u8 = 6;

/// Why a command did not succeed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The operator layer refused or failed.
    Operator(OperatorError),
    /// The command line or an input file it names is wrong.
    Usage {
        /// A stable code, e.g. `file_unreadable`.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The audit log's hash chain is broken.
    Audit(AuditError),
    /// A signed bundle is refused (`bundle verify`): exit 1 with the check's code.
    Signature(SignatureError),
    /// A refusal of the tool's own, with its code and exit code (e.g. `file_exists`, 4).
    Refused {
        /// A stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
        /// The exit code.
        exit: u8,
    },
    /// A rollout ended `Failed` (verification or the smoke test): exit 1, `rollout_failed`.
    RolloutFailed(Box<Rollout>),
    /// The tool itself could not run (no runtime).
    Internal(String),
}

impl Failure {
    /// A usage failure.
    pub(crate) fn usage(code: &'static str, message: impl Into<String>) -> Self {
        Failure::Usage {
            code,
            message: message.into(),
        }
    }

    /// A refusal of the tool's own.
    pub(crate) fn refused(code: &'static str, exit: u8, message: impl Into<String>) -> Self {
        Failure::Refused {
            code,
            message: message.into(),
            exit,
        }
    }

    /// The exit code.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            Failure::Operator(error) => operator_exit_code(error),
            Failure::Usage { .. } => USAGE,
            Failure::Audit(_) => AUDIT,
            Failure::Internal(_) => STORE,
            Failure::Signature(_) | Failure::RolloutFailed(_) => REFUSED,
            Failure::Refused { exit, .. } => *exit,
        }
    }

    /// The stable code printed with the message.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Failure::Operator(error) => error.code(),
            Failure::Usage { code, .. } | Failure::Refused { code, .. } => code,
            Failure::Audit(_) => "audit_invalid",
            Failure::Internal(_) => "internal",
            Failure::Signature(error) => error.code(),
            Failure::RolloutFailed(_) => "rollout_failed",
        }
    }

    /// The JSON error document (`{error, message, ...}`).
    pub(crate) fn body(&self) -> Value {
        match self {
            Failure::Operator(error) => serde_json::to_value(error.body())
                .unwrap_or_else(|_| json!({"error": error.code(), "message": error.to_string()})),
            Failure::Audit(error) => {
                let mut body = json!({"error": self.code(), "message": error.to_string()});
                let seq = match error {
                    AuditError::Edited { seq }
                    | AuditError::Broken { seq, .. }
                    | AuditError::Unreadable { seq, .. } => Some(*seq),
                    AuditError::Missing { from, .. } => Some(*from),
                    _ => None,
                };
                if let (Some(seq), Some(map)) = (seq, body.as_object_mut()) {
                    map.insert("seq".to_owned(), json!(seq));
                }
                body
            }
            Failure::RolloutFailed(rollout) => {
                json!({"error": self.code(), "message": self.message(), "rollout": rollout})
            }
            Failure::Usage { .. } | Failure::Internal(_) | Failure::Signature(_) | Failure::Refused { .. } => {
                json!({"error": self.code(), "message": self.message()})
            }
        }
    }

    fn message(&self) -> String {
        match self {
            Failure::Operator(error) => error.to_string(),
            Failure::Audit(error) => format!("the audit log failed verification: {error}"),
            Failure::Usage { message, .. } | Failure::Internal(message) | Failure::Refused { message, .. } => {
                message.clone()
            }
            Failure::Signature(error) => format!("the signed bundle is refused: {error}"),
            Failure::RolloutFailed(rollout) => {
                let why = rollout
                    .history
                    .last()
                    .map_or("no reason recorded", |t| t.reason.as_str());
                format!("the rollout of {}@{} failed: {why}", rollout.plugin, rollout.version)
            }
        }
    }
}

impl From<OperatorError> for Failure {
    fn from(error: OperatorError) -> Self {
        Failure::Operator(error)
    }
}

impl From<OperatorStoreError> for Failure {
    fn from(error: OperatorStoreError) -> Self {
        Failure::Operator(OperatorError::Store(error))
    }
}

/// The exit code of an operator error: a store failure is 5 (a store conflict 4), then by HTTP status — 404
/// is 3, 409 is 4, anything else a refusal (1).
pub(crate) fn operator_exit_code(error: &OperatorError) -> u8 {
    match error {
        OperatorError::Store(OperatorStoreError::Conflict { .. }) => CONFLICT,
        OperatorError::Store(_) => STORE,
        other => match other.status() {
            404 => NOT_FOUND,
            409 => CONFLICT,
            _ => REFUSED,
        },
    }
}

/// Prints a failure (stderr, or JSON on stdout) and returns its exit code.
pub(crate) fn report(out: Output, failure: &Failure) -> ExitCode {
    if out.json() {
        Output::json_value(&failure.body());
    } else {
        Output::error(&format!("error: {} [{}]", failure.message(), failure.code()));
    }
    ExitCode::from(failure.exit_code())
}

/// Reports a command line clap refused (exit 2), or prints the help or version asked for (exit 0).
pub(crate) fn usage(error: &clap::Error, json: bool) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // Printing help can only fail on a closed stdout; there is nothing left to tell.
            let _ = error.print();
            ExitCode::from(OK)
        }
        _ if json => {
            let text = error.render().to_string();
            let head = text.split("Usage:").next().unwrap_or_default();
            let message = head
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with("For more information"))
                .collect::<Vec<_>>()
                .join(" ");
            let message = message.strip_prefix("error: ").unwrap_or(&message).to_owned();
            Output::json_value(&json!({"error": "usage", "message": message}));
            ExitCode::from(USAGE)
        }
        _ => {
            let _ = error.print();
            ExitCode::from(USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_exit_codes() {
        let unknown = OperatorError::UnknownTenant { tenant: "x".into() };
        assert_eq!(operator_exit_code(&unknown), NOT_FOUND);
        let in_use = OperatorError::InUse {
            plugin: "p".into(),
            count: 1,
            tenants: vec!["t".into()],
        };
        assert_eq!(operator_exit_code(&in_use), CONFLICT);
        let denied = OperatorError::LicenseDenied {
            tenant: "t".into(),
            plugin: "p".into(),
        };
        assert_eq!(operator_exit_code(&denied), REFUSED);
        let failed = OperatorError::Store(OperatorStoreError::Backend {
            store: "s".into(),
            reason: "r".into(),
        });
        assert_eq!(operator_exit_code(&failed), STORE);
    }
}
