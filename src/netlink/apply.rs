//! Transactional apply: snapshot → plan → preflight → execute with an undo
//! log → verify → on any failure, undo. The kernel ends either as desired or
//! as it was (bar ifindexes of links that had to be recreated).

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde::{Deserialize, Serialize};

use super::error::NetlinkError;
use super::execute::OnFailure;
use super::handle::{Handle, Subscription};
use crate::desired::DesiredNetwork;
use crate::plan::{self, check::failures, CheckRow, Op};
use crate::state::KernelState;

/// rtnetlink multicast groups whose events may end a verify wait:
/// `RTNLGRP_LINK`, `RTNLGRP_IPV4_IFADDR`, `RTNLGRP_IPV4_ROUTE`.
const VERIFY_GROUPS: [u32; 3] = [1, 5, 7];

/// How long verification may wait for the kernel to settle (bond port
/// selection and carrier are asynchronous) when no option is given.
pub const DEFAULT_VERIFY_TIMEOUT: Duration = Duration::from_secs(3);

/// Pause between verify attempts when no event subscription is available.
const VERIFY_POLL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub verify_timeout: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            verify_timeout: DEFAULT_VERIFY_TIMEOUT,
        }
    }
}

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

/// Why an apply did not converge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
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

impl Failure {
    fn from_errors(errors: &[NetlinkError]) -> Failure {
        let first = errors.first();
        let kernel = first.and_then(NetlinkError::kernel);
        Failure {
            message: errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            op: first.and_then(NetlinkError::op).map(str::to_owned),
            errno: kernel.map(|k| k.errno),
            errno_name: kernel.map(|k| format!("{:?}", k.errno())),
            kernel_message: kernel.and_then(|k| k.message.clone()),
        }
    }

    fn verification(mismatches: &[CheckRow]) -> Failure {
        let rows: Vec<String> = mismatches.iter().map(ToString::to_string).collect();
        Failure {
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
    pub failure: Option<Failure>,
    pub rolled_back: bool,
    /// Undo ops sent, and the ones that failed.
    pub rollback_ops: usize,
    pub rollback_writes: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rollback_failures: Vec<String>,
    pub timings: Timings,
}

impl ApplyReport {
    fn new(netns: Option<&str>, planned: Vec<Op>) -> Self {
        ApplyReport {
            netns: netns.map(str::to_owned),
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

/// `CAP_NET_ADMIN` is in the calling thread's effective set. Checked before
/// the first write so that a missing capability is named plainly instead of
/// surfacing as the first op's EPERM. Unreadable status counts as present:
/// the kernel still has the last word.
fn has_cap_net_admin() -> bool {
    const CAP_NET_ADMIN: u32 = 12;
    let Ok(status) = std::fs::read_to_string("/proc/thread-self/status") else {
        return true;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_none_or(|caps| caps & (1 << CAP_NET_ADMIN) != 0)
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

impl Handle {
    /// Brings the kernel to `desired`, all or nothing.
    ///
    /// `Ok` when the kernel already was or now is as desired. Errors before
    /// any change (dump, plan, preflight) come back as they are; a failure
    /// after changes began is [`NetlinkError::Apply`] with the full report,
    /// after the undo log ran.
    pub async fn apply(
        &self,
        desired: &DesiredNetwork,
        opts: &ApplyOptions,
    ) -> Result<ApplyReport, NetlinkError> {
        let start = Instant::now();
        let snapshot = self.dump().await?;
        let dumped = Instant::now();
        let planned = plan::plan(desired, &snapshot)?;
        let mut report = ApplyReport::new(self.netns(), planned.ops.clone());
        report.timings.dump_ms = (dumped - start).as_secs_f64() * 1000.0;
        report.timings.plan_ms = ms(dumped);
        if planned.is_empty() {
            report.verified = true;
            report.timings.total_ms = ms(start);
            return Ok(report);
        }
        if !has_cap_net_admin() {
            return Err(NetlinkError::NoCapNetAdmin);
        }
        self.preflight(&planned.ops).await?;
        // Subscribed before the first write, so no settling event is missed.
        let mut events = self
            .subscribe(&VERIFY_GROUPS)
            .map_err(|e| tracing::warn!("no netlink events for verification, polling: {e}"))
            .ok();

        let executing = Instant::now();
        let undo_of = |op: &Op, before: &KernelState| Ok(plan::inverse(op, before)?);
        let ex = self
            .run(&planned.ops, snapshot, OnFailure::Stop, Some(&undo_of))
            .await;
        report.timings.execute_ms = ms(executing);
        report.writes = ex.writes;
        report.applied = ex.applied.clone();

        let failure = if ex.succeeded() {
            let verifying = Instant::now();
            let verified = self
                .verify(desired, events.as_mut(), opts.verify_timeout)
                .await;
            report.timings.verify_ms = ms(verifying);
            match verified {
                Ok((attempts, mismatches)) => {
                    report.verify_attempts = attempts;
                    report.verified = mismatches.is_empty();
                    let failure =
                        (!mismatches.is_empty()).then(|| Failure::verification(&mismatches));
                    report.mismatches = mismatches;
                    failure
                }
                Err(e) => Some(Failure::from_errors(&[e])),
            }
        } else {
            Some(Failure::from_errors(&ex.failures))
        };
        let Some(failure) = failure else {
            report.outcome = Outcome::Applied;
            report.timings.total_ms = ms(start);
            tracing::info!(
                ops = report.applied.len(),
                writes = report.writes,
                "applied"
            );
            return Ok(report);
        };

        tracing::warn!("{}; rolling back", failure.message);
        report.failure = Some(failure);
        let rolling_back = Instant::now();
        let undo = ex.undo_ops();
        report.rollback_ops = undo.len();
        match self.dump().await {
            Ok(now) => {
                let rb = self.run(&undo, now, OnFailure::Continue, None).await;
                report.rollback_writes = rb.writes;
                report.rollback_failures = rb.failures.iter().map(ToString::to_string).collect();
            }
            Err(e) => report.rollback_failures.push(e.to_string()),
        }
        report.rolled_back = report.rollback_failures.is_empty();
        report.outcome = if report.rolled_back {
            Outcome::RolledBack
        } else {
            Outcome::RollbackIncomplete
        };
        report.timings.rollback_ms = ms(rolling_back);
        report.timings.total_ms = ms(start);
        Err(NetlinkError::Apply(Box::new(report)))
    }

    /// Dumps and checks until every row matches or `timeout` passes; between
    /// attempts it waits for the kernel to announce a change rather than
    /// sleeping blindly. Returns the attempts and the last mismatches.
    async fn verify(
        &self,
        desired: &DesiredNetwork,
        mut events: Option<&mut Subscription>,
        timeout: Duration,
    ) -> Result<(u32, Vec<CheckRow>), NetlinkError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut attempts = 0;
        loop {
            // Whatever is queued happened before the dump below sees it.
            if let Some(ev) = events.as_deref_mut() {
                while ev.messages.try_recv().is_ok() {}
            }
            attempts += 1;
            let state = self.dump().await?;
            let mismatches: Vec<CheckRow> =
                failures(&plan::check(desired, &state)).cloned().collect();
            if mismatches.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok((attempts, mismatches));
            }
            tracing::debug!(
                attempts,
                mismatches = mismatches.len(),
                "waiting for the kernel to settle"
            );
            match events.as_deref_mut() {
                Some(ev) => {
                    let _ = tokio::time::timeout_at(deadline, ev.messages.next()).await;
                }
                None => {
                    tokio::time::sleep_until(
                        deadline.min(tokio::time::Instant::now() + VERIFY_POLL),
                    )
                    .await
                }
            }
        }
    }
}
