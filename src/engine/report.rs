//! What an apply did: the report `apply --json` prints and the daemon
//! records. A rollback is one of its outcomes, not an error: the report of
//! a rolled-back apply is as complete as that of an applied one.

use serde::{Deserialize, Serialize};

use super::error::EngineError;
use crate::plan::{CheckRow, Op};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The kernel already held the desired network: no writes.
    InSync,
    /// The plan was applied and verified.
    Applied,
    /// Something failed and the undo log restored the previous state.
    RolledBack,
    /// Something failed and the undo log failed too: the kernel is in
    /// between; `rollbackFailures` says where.
    RollbackIncomplete,
}

impl Outcome {
    /// Every outcome: what a Prometheus state set of them lists.
    pub const ALL: [Outcome; 4] = [
        Outcome::InSync,
        Outcome::Applied,
        Outcome::RolledBack,
        Outcome::RollbackIncomplete,
    ];

    /// The name, as in the report and the status file.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::InSync => "in-sync",
            Outcome::Applied => "applied",
            Outcome::RolledBack => "rolled-back",
            Outcome::RollbackIncomplete => "rollback-incomplete",
        }
    }

    /// The kernel is as desired (it was, or now is); otherwise the apply
    /// failed and the report says why and how far the rollback got.
    pub fn converged(self) -> bool {
        matches!(self, Outcome::InSync | Outcome::Applied)
    }
}

/// Why an apply did not converge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyFailure {
    /// Every failure, as one readable message.
    pub message: String,
    /// The first failing op.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno: Option<i32>,
    /// `ENETUNREACH`, ...
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errno_name: Option<String>,
    /// The kernel's extended-ack message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_message: Option<String>,
}

impl ApplyFailure {
    pub(super) fn from_errors(errors: &[EngineError]) -> ApplyFailure {
        let first = errors.first();
        let kernel = first.and_then(EngineError::kernel);
        ApplyFailure {
            message: errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            op: first.and_then(EngineError::op).map(str::to_owned),
            errno: kernel.map(|k| k.errno),
            errno_name: kernel.map(|k| format!("{:?}", k.errno())),
            kernel_message: kernel.and_then(|k| k.message.clone()),
        }
    }

    pub(super) fn verification(mismatches: &[CheckRow]) -> ApplyFailure {
        let rows: Vec<String> = mismatches.iter().map(ToString::to_string).collect();
        ApplyFailure {
            message: format!("verification failed: {}", rows.join("; ")),
            op: None,
            errno: None,
            errno_name: None,
            kernel_message: None,
        }
    }
}

/// Milliseconds spent in each phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timings {
    pub dump_ms: f64,
    pub plan_ms: f64,
    pub execute_ms: f64,
    pub verify_ms: f64,
    pub rollback_ms: f64,
    pub total_ms: f64,
}

/// What `apply` did (`apply --json`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns: Option<String>,
    pub outcome: Outcome,
    /// The plan computed from the snapshot.
    pub planned: Vec<Op>,
    /// Ops carried out completely (all of `planned` when applied).
    pub applied: Vec<Op>,
    /// Write requests of the apply (0 when in sync), rollback excluded.
    pub writes: u64,
    /// The final state matched the desired network.
    pub verified: bool,
    pub verify_attempts: u32,
    /// Rows of the last check that did not match.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<CheckRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<ApplyFailure>,
    pub rolled_back: bool,
    /// Undo ops sent, and the ones that failed.
    pub rollback_ops: usize,
    pub rollback_writes: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rollback_failures: Vec<String>,
    pub timings: Timings,
}

impl ApplyReport {
    pub(super) fn new(planned: Vec<Op>) -> Self {
        ApplyReport {
            netns: None,
            outcome: Outcome::InSync,
            planned,
            applied: Vec::new(),
            writes: 0,
            verified: false,
            verify_attempts: 0,
            mismatches: Vec::new(),
            failure: None,
            rolled_back: false,
            rollback_ops: 0,
            rollback_writes: 0,
            rollback_failures: Vec::new(),
            timings: Timings::default(),
        }
    }

    /// One line for logs and error messages.
    pub fn summary(&self) -> String {
        let failure = self
            .failure
            .as_ref()
            .map_or("apply failed", |f| f.message.as_str());
        match self.outcome {
            Outcome::InSync => "in sync: nothing to do".to_owned(),
            Outcome::Applied => format!(
                "applied {} op(s) with {} write(s) in {:.1} ms",
                self.applied.len(),
                self.writes,
                self.timings.total_ms
            ),
            Outcome::RolledBack => format!(
                "{failure}; rolled back {} undo op(s): the kernel is as before",
                self.rollback_ops
            ),
            Outcome::RollbackIncomplete => format!(
                "{failure}; ROLLBACK INCOMPLETE: {}",
                self.rollback_failures.join("; ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_names_are_as_serialized() {
        for o in Outcome::ALL {
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
        }
    }
}
