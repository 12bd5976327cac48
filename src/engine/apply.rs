//! Transactional apply: snapshot → plan → preflight → execute with an undo
//! log → verify → on any failure, undo. The kernel ends either as desired or
//! as it was (bar ifindexes of links that had to be recreated).

use std::time::{Duration, Instant};

use super::error::EngineError;
use super::execute::{run, undo_log, Execution, Mode};
use super::kernel::{Kernel, Live};
use super::lock::WriterLock;
use super::report::{ApplyFailure, ApplyReport, Outcome};
use crate::desired::DesiredNetwork;
use crate::netlink::Handle;
use crate::plan::{self, check::failures, CheckRow, Op};

/// How long verification may wait for the kernel to settle (bond port
/// selection and carrier are asynchronous) when no option is given.
pub const DEFAULT_VERIFY_TIMEOUT: Duration = Duration::from_secs(3);

/// What a caller may tune of an apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// How long verify waits for the kernel to match; then the apply rolls
    /// back.
    pub verify_timeout: Duration,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            verify_timeout: DEFAULT_VERIFY_TIMEOUT,
        }
    }
}

/// Brings the kernel behind `handle` to `desired`, all or nothing.
///
/// `_lock` is the held writer lock of `handle`'s namespace (see
/// [`super::lock`]): taken before this dump, so the plan cannot be made
/// stale by another writer.
///
/// `Ok` with the report whenever the transaction ran: its
/// [`outcome`](ApplyReport::outcome) says whether the kernel was or now is as
/// desired, or whether the undo log ran ([`Outcome::RolledBack`],
/// [`Outcome::RollbackIncomplete`]). `Err` only for what stops it before any
/// change: the dump, a plan conflict, the preflight.
pub async fn apply(
    handle: &Handle,
    desired: &DesiredNetwork,
    opts: &ApplyOptions,
    lock: &WriterLock,
) -> Result<ApplyReport, EngineError> {
    apply_journalled(handle, desired, opts, lock, |_| Ok(())).await
}

/// [`apply`], handing the whole undo log of the plan ([`undo_log`]) to
/// `journal` after the preflight and before the first write: a confirmed
/// change (`n3xnetctl apply --confirm-within`) stores it durably there,
/// and an `Err` from it stops the apply with nothing changed. Not called
/// when the kernel is in sync.
pub async fn apply_journalled(
    handle: &Handle,
    desired: &DesiredNetwork,
    opts: &ApplyOptions,
    _lock: &WriterLock,
    journal: impl FnOnce(Vec<Op>) -> Result<(), EngineError>,
) -> Result<ApplyReport, EngineError> {
    let mut report = transact_with(&mut Live::new(handle), desired, opts, journal).await?;
    report.netns = handle.netns().map(str::to_owned);
    Ok(report)
}

/// Runs `undo` (an undo log from [`apply_journalled`]) as a transaction of
/// its own: each op's inverse is logged before it runs, and on a failure
/// what the revert did is undone again, so a revert that fails leaves the
/// kernel as the change left it, and can be tried again. There is no
/// desired network to verify against: the undo log is exact against the
/// kernel model ([`crate::plan::inverse`]). A revert a crash cut short
/// resumes: only the ops whose work is not already in the kernel run
/// ([`plan::unfinished`]).
pub async fn revert(
    handle: &Handle,
    undo: &[Op],
    _lock: &WriterLock,
) -> Result<ApplyReport, EngineError> {
    let mut report = run_undo(&mut Live::new(handle), undo).await?;
    report.netns = handle.netns().map(str::to_owned);
    Ok(report)
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// [`apply`] against any [`Kernel`].
#[cfg(test)]
pub(crate) async fn transact(
    kernel: &mut impl Kernel,
    desired: &DesiredNetwork,
    opts: &ApplyOptions,
) -> Result<ApplyReport, EngineError> {
    transact_with(kernel, desired, opts, |_| Ok(())).await
}

/// [`apply_journalled`] against any [`Kernel`].
async fn transact_with(
    kernel: &mut impl Kernel,
    desired: &DesiredNetwork,
    opts: &ApplyOptions,
    journal: impl FnOnce(Vec<Op>) -> Result<(), EngineError>,
) -> Result<ApplyReport, EngineError> {
    let start = Instant::now();
    let snapshot = kernel.dump().await?;
    let dumped = Instant::now();
    let planned = plan::plan(desired, &snapshot)?;
    let mut report = ApplyReport::new(planned.ops.clone());
    report.timings.dump_ms = (dumped - start).as_secs_f64() * 1000.0;
    report.timings.plan_ms = ms(dumped);
    if planned.is_empty() {
        report.verified = true;
        report.timings.total_ms = ms(start);
        return Ok(report);
    }
    kernel.preflight(&planned.ops).await?;
    journal(undo_log(&planned.ops, &snapshot)?)?;
    // Before the first write, so no settling event is missed.
    kernel.watch();

    let executing = Instant::now();
    let ex = run(kernel, &planned.ops, snapshot, Mode::Transaction).await;
    report.timings.execute_ms = ms(executing);
    report.writes = ex.writes;
    report.applied = ex.applied.clone();

    let failure = if ex.succeeded() {
        let verifying = Instant::now();
        let verified = verify(kernel, desired, opts.verify_timeout).await;
        report.timings.verify_ms = ms(verifying);
        match verified {
            Ok((attempts, mismatches)) => {
                report.verify_attempts = attempts;
                report.verified = mismatches.is_empty();
                let failure =
                    (!mismatches.is_empty()).then(|| ApplyFailure::verification(&mismatches));
                report.mismatches = mismatches;
                failure
            }
            Err(e) => Some(ApplyFailure::from_errors(&[e])),
        }
    } else {
        Some(ApplyFailure::from_errors(&ex.failures))
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

    roll_back(kernel, &ex, failure, &mut report).await;
    report.timings.total_ms = ms(start);
    Ok(report)
}

/// [`revert`] against any [`Kernel`].
pub(crate) async fn run_undo(
    kernel: &mut impl Kernel,
    undo: &[Op],
) -> Result<ApplyReport, EngineError> {
    let start = Instant::now();
    let snapshot = kernel.dump().await?;
    let undo = plan::unfinished(undo, &snapshot);
    let mut report = ApplyReport::new(undo.clone());
    if undo.is_empty() {
        return Ok(report);
    }
    kernel.preflight(&undo).await?;
    let ex = run(kernel, &undo, snapshot, Mode::Transaction).await;
    report.timings.execute_ms = ms(start);
    report.writes = ex.writes;
    report.applied = ex.applied.clone();
    if ex.succeeded() {
        report.outcome = Outcome::Applied;
    } else {
        roll_back(
            kernel,
            &ex,
            ApplyFailure::from_errors(&ex.failures),
            &mut report,
        )
        .await;
    }
    report.timings.total_ms = ms(start);
    Ok(report)
}

/// Runs the undo log of `ex`, which failed with `failure`, and records
/// the outcome in `report`.
async fn roll_back(
    kernel: &mut impl Kernel,
    ex: &Execution,
    failure: ApplyFailure,
    report: &mut ApplyReport,
) {
    tracing::warn!("{}; rolling back", failure.message);
    report.failure = Some(failure);
    let rolling_back = Instant::now();
    let undo = ex.undo_ops();
    report.rollback_ops = undo.len();
    match kernel.dump().await {
        Ok(now) => {
            let rb = run(kernel, &undo, now, Mode::Rollback).await;
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
}

/// Dumps and checks until every row matches or `timeout` passes; between
/// attempts it waits for the kernel to announce a change rather than
/// sleeping blindly. Returns the attempts and the last mismatches.
async fn verify(
    kernel: &mut impl Kernel,
    desired: &DesiredNetwork,
    timeout: Duration,
) -> Result<(u32, Vec<CheckRow>), EngineError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let state = kernel.dump().await?;
        let mismatches: Vec<CheckRow> = failures(&plan::check(desired, &state)).cloned().collect();
        if mismatches.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok((attempts, mismatches));
        }
        tracing::debug!(
            attempts,
            mismatches = mismatches.len(),
            "waiting for the kernel to settle"
        );
        kernel.settle(deadline).await;
    }
}

#[cfg(test)]
mod tests {
    use nix::errno::Errno;

    use super::*;
    use crate::engine::sim::{Fault, Sim};
    use crate::plan::fixture::{bare, desired, normalized, synced};

    /// No waiting for a settle that the model never makes.
    fn quick() -> ApplyOptions {
        ApplyOptions {
            verify_timeout: Duration::ZERO,
        }
    }

    /// The op of the fixture's plan from bare NICs that `pick` finds.
    fn planned(pick: impl Fn(&Op) -> bool) -> Op {
        let ops = plan::plan(&desired(), &bare()).unwrap().ops;
        ops.into_iter().find(|op| pick(op)).unwrap()
    }

    fn the_route() -> Op {
        planned(|op| matches!(op, Op::AddRoute { .. }))
    }

    fn created(name: &str) -> impl Fn(&Op) -> bool + '_ {
        move |op| matches!(op, Op::CreateLink { name: n, .. } if n == name)
    }

    #[tokio::test]
    async fn in_sync_writes_nothing() {
        let mut sim = Sim::new(synced());
        let r = transact(&mut sim, &desired(), &quick()).await.unwrap();
        assert_eq!(
            (r.outcome, r.writes, r.verified),
            (Outcome::InSync, 0, true)
        );
        assert!(r.planned.is_empty() && sim.batches.is_empty());
    }

    #[tokio::test]
    async fn a_plan_is_applied_and_verified() {
        let mut sim = Sim::new(bare());
        let r = transact(&mut sim, &desired(), &quick()).await.unwrap();
        assert_eq!(r.outcome, Outcome::Applied, "{}", r.summary());
        assert!(r.verified && r.failure.is_none() && !r.rolled_back);
        assert_eq!(r.applied, r.planned);
        assert_eq!(r.writes, r.planned.len() as u64);
        assert_eq!(r.verify_attempts, 1);
        assert!(plan::plan(&desired(), &sim.state).unwrap().is_empty());
        // Independent ops shared batches.
        assert!(sim.batches.len() < r.planned.len());
    }

    #[tokio::test]
    async fn a_refused_op_rolls_back_to_the_state_before() {
        let mut sim = Sim::new(bare()).fault(the_route(), Fault::Refuse(Errno::ENETUNREACH));
        let r = transact(&mut sim, &desired(), &quick()).await.unwrap();
        assert_eq!(r.outcome, Outcome::RolledBack, "{}", r.summary());
        assert!(r.rolled_back && !r.verified && r.rollback_failures.is_empty());
        let failure = r.failure.as_ref().unwrap();
        assert_eq!(failure.op, Some(the_route().to_string()));
        assert_eq!(failure.errno_name.as_deref(), Some("ENETUNREACH"));
        assert!(!r.applied.is_empty() && !r.applied.contains(&the_route()));
        assert!(r.rollback_ops > 0);
        assert_eq!(r.rollback_writes, r.rollback_ops as u64);
        assert_eq!(normalized(&sim.state), normalized(&bare()));
        assert!(r.summary().contains("the kernel is as before"));
    }

    #[tokio::test]
    async fn an_op_that_failed_halfway_is_undone_too() {
        let shim = planned(created("mv-storage"));
        let mut sim = Sim::new(bare()).fault(shim.clone(), Fault::Partial(Errno::EINVAL));
        let r = transact(&mut sim, &desired(), &quick()).await.unwrap();
        assert_eq!(r.outcome, Outcome::RolledBack, "{}", r.summary());
        assert!(!r.applied.contains(&shim));
        assert_eq!(normalized(&sim.state), normalized(&bare()));
    }

    #[tokio::test]
    async fn a_refused_undo_leaves_the_rollback_incomplete() {
        let undo = Op::DeleteLink {
            name: "mv-storage".into(),
        };
        let mut sim = Sim::new(bare())
            .fault(the_route(), Fault::Refuse(Errno::ENETUNREACH))
            .fault(undo.clone(), Fault::Refuse(Errno::EBUSY));
        let r = transact(&mut sim, &desired(), &quick()).await.unwrap();
        assert_eq!(r.outcome, Outcome::RollbackIncomplete, "{}", r.summary());
        assert!(!r.rolled_back);
        assert_eq!(r.rollback_failures.len(), 1);
        assert!(r.rollback_failures[0].contains(&undo.to_string()));
        assert!(r.summary().contains("ROLLBACK INCOMPLETE"));
        // The rest of the undo log still ran.
        assert!(sim.state.link("bond0").is_none());
        assert!(r.rollback_writes > 1);
    }

    #[tokio::test]
    async fn a_mismatch_after_the_writes_rolls_back() {
        let up = Op::SetUp {
            name: "mv-storage".into(),
        };
        let mut sim = Sim::new(bare()).fault(up, Fault::Ignore);
        let r = transact(&mut sim, &desired(), &quick()).await.unwrap();
        assert_eq!(r.outcome, Outcome::RolledBack, "{}", r.summary());
        assert!(!r.verified && !r.mismatches.is_empty());
        assert_eq!(r.applied, r.planned);
        let failure = r.failure.as_ref().unwrap();
        assert!(failure.message.starts_with("verification failed"));
        assert_eq!(failure.op, None);
        assert_eq!(normalized(&sim.state), normalized(&bare()));
    }

    #[tokio::test]
    async fn verify_waits_for_the_kernel_until_the_deadline() {
        let up = Op::SetUp {
            name: "mv-storage".into(),
        };
        let mut sim = Sim::new(bare()).fault(up, Fault::Ignore);
        let opts = ApplyOptions {
            verify_timeout: Duration::from_millis(20),
        };
        let r = transact(&mut sim, &desired(), &opts).await.unwrap();
        assert_eq!(r.outcome, Outcome::RolledBack);
        assert_eq!(r.verify_attempts, 2);
        assert!(r.timings.verify_ms >= 20.0);
    }

    /// Applies the fixture from bare NICs, keeping the journalled undo log.
    async fn journalled(sim: &mut Sim) -> Vec<Op> {
        let mut log = None;
        let journal = |undo| {
            log = Some(undo);
            Ok(())
        };
        let r = transact_with(sim, &desired(), &quick(), journal)
            .await
            .unwrap();
        assert_eq!(r.outcome, Outcome::Applied, "{}", r.summary());
        log.unwrap()
    }

    #[tokio::test]
    async fn the_journalled_undo_log_reverts_an_applied_change_exactly() {
        let mut sim = Sim::new(bare());
        let undo = journalled(&mut sim).await;
        assert!(!undo.is_empty());
        let r = run_undo(&mut sim, &undo).await.unwrap();
        assert_eq!(r.outcome, Outcome::Applied, "{}", r.summary());
        assert_eq!(normalized(&sim.state), normalized(&bare()));
    }

    #[tokio::test]
    async fn a_revert_cut_short_resumes_where_it_stopped() {
        let mut applied = Sim::new(bare());
        let undo = journalled(&mut applied).await;
        for cut in [1, undo.len() / 2, undo.len() - 1] {
            let mut state = applied.state.clone();
            crate::plan::simulate::apply_all(&mut state, &undo[..cut]).unwrap();
            let mut sim = Sim::new(state);
            let r = run_undo(&mut sim, &undo).await.unwrap();
            assert_eq!(r.outcome, Outcome::Applied, "cut {cut}: {}", r.summary());
            // What was left ran, and of what was done only ops that are
            // harmless to repeat (setting a link down again).
            assert!(
                r.planned.ends_with(&undo[cut..]),
                "cut {cut}: {:?}",
                r.planned
            );
            assert!(r.planned.len() < undo.len(), "cut {cut}: {:?}", r.planned);
            assert_eq!(normalized(&sim.state), normalized(&bare()), "cut {cut}");
        }
    }

    #[tokio::test]
    async fn a_journal_that_cannot_be_kept_stops_the_apply_before_any_write() {
        let mut sim = Sim::new(bare());
        let no = |_| Err(EngineError::Journal("disk full".into()));
        let e = transact_with(&mut sim, &desired(), &quick(), no)
            .await
            .unwrap_err();
        assert!(matches!(e, EngineError::Journal(_)), "{e}");
        assert!(sim.batches.is_empty());
    }

    #[tokio::test]
    async fn a_failed_revert_is_undone_and_leaves_the_change() {
        let mut applied = Sim::new(bare());
        let undo = journalled(&mut applied).await;
        let changed = applied.state.clone();
        let refused = Op::DeleteLink {
            name: "mv-storage".into(),
        };
        assert!(undo.contains(&refused), "{undo:?}");
        let mut sim = Sim::new(changed.clone()).fault(refused, Fault::Refuse(Errno::EBUSY));
        let r = run_undo(&mut sim, &undo).await.unwrap();
        assert_eq!(r.outcome, Outcome::RolledBack, "{}", r.summary());
        assert_eq!(normalized(&sim.state), normalized(&changed));
    }

    #[tokio::test]
    async fn a_conflict_stops_before_any_write() {
        let mut state = bare();
        state.links.retain(|l| l.name != "eth2");
        let mut sim = Sim::new(state);
        let e = transact(&mut sim, &desired(), &quick()).await.unwrap_err();
        assert!(matches!(e, EngineError::Plan(_)), "{e}");
        assert!(sim.batches.is_empty());
    }
}
