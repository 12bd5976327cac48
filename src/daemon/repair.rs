//! The repair policy: what the supervisor does about each plan it makes
//! after reading the kernel. Sans-IO, like [`crate::dhcp::client`]: the
//! plan, the drift policy and the time go in, a [`Decision`] comes out;
//! the supervisor logs it and, for [`Decision::Repair`], applies.
//!
//! - An empty plan is in sync; a plan that cannot be made (a declared NIC
//!   missing, a foreign link holding a declared name) is a conflict.
//! - Until the profile has been applied once (since start or the last
//!   reload) pending changes are applied under either drift policy: that
//!   apply is the operator's own request.
//! - After that, drift is repaired only under `enforce` and while not
//!   paused, and then through the backoff [`Governor`]: the same drift
//!   coming straight back is someone fighting the profile.
//! - While another process holds the namespace's writer lock, nothing is
//!   applied: the supervisor waits for the release beside its loop, and
//!   then applies what was asked for (the operator's reconcile, reload or
//!   resume over a repair), against a fresh dump.

use std::time::Instant;

use super::backoff::{Governor, Permit, RepairSchedule};
use crate::api::status::{BackoffStatus, DriftStatus, Trigger};
use crate::clock::millis;
use crate::config::DriftPolicy;
use crate::plan::Op;

/// What to do about one plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to do. `settled`: there was drift or a conflict before.
    InSync { settled: bool },
    /// The profile cannot be applied to this kernel. `new`: not reported
    /// before.
    Conflict { new: bool },
    /// Drift left alone: paused by an operator, or `report` mode. `new`:
    /// this drift was not reported before.
    Report { new: bool, paused: bool },
    /// The repair waits until `until`: the drift came back `streak` times
    /// in a row. `new`: this wait was not reported before.
    Wait {
        until: Instant,
        streak: u32,
        new: bool,
    },
    /// Apply now, as `Start` (the profile not applied yet) or `Repair`.
    Repair(Trigger),
    /// Another writer holds the namespace: the apply waits for its release.
    AwaitWriter,
}

/// The repair state across kernel reads.
#[derive(Debug, Clone, Default)]
pub struct Repairs {
    governor: Governor,
    drift: DriftStatus,
    backoff_until: Option<Instant>,
    paused: bool,
    applied: bool,
    repairs: u32,
    /// The apply waiting for another writer's release, and what asked for it.
    awaiting: Option<Trigger>,
}

impl Repairs {
    pub fn new(schedule: RepairSchedule) -> Repairs {
        Repairs {
            governor: Governor::new(schedule),
            ..Repairs::default()
        }
    }

    /// Decides about a plan (`Err`: why none can be made) seen at `now`.
    pub fn decide(
        &mut self,
        plan: Result<&[Op], String>,
        policy: DriftPolicy,
        now: Instant,
    ) -> Decision {
        let ops = match plan {
            Err(conflict) => {
                let new = self.drift.conflict.as_ref() != Some(&conflict);
                self.drift = DriftStatus {
                    conflict: Some(conflict),
                    writer: self.drift.writer.take(),
                    ..DriftStatus::default()
                };
                self.backoff_until = None;
                return Decision::Conflict { new };
            }
            Ok([]) => {
                let settled = !self.drift.pending.is_empty() || self.drift.conflict.is_some();
                self.drift = DriftStatus {
                    writer: self.drift.writer.take(),
                    ..DriftStatus::default()
                };
                self.backoff_until = None;
                return Decision::InSync { settled };
            }
            Ok(ops) => ops,
        };
        let pending: Vec<String> = ops.iter().map(ToString::to_string).collect();
        let new = pending != self.drift.pending;
        self.drift.pending = pending;
        self.drift.conflict = None;
        if self.paused || (self.applied && policy == DriftPolicy::Report) {
            return Decision::Report {
                new,
                paused: self.paused,
            };
        }
        if self.awaiting.is_some() {
            return Decision::AwaitWriter;
        }
        let digest = digest(ops);
        match self.governor.permit(digest, now) {
            Permit::Wait { until, streak } => {
                let new = self.backoff_until != Some(until);
                self.backoff_until = Some(until);
                self.drift.backoff = Some(BackoffStatus {
                    streak,
                    next_in_ms: millis(until.saturating_duration_since(now)),
                });
                Decision::Wait { until, streak, new }
            }
            Permit::Now => {
                self.backoff_until = None;
                self.drift.backoff = None;
                self.governor.record(digest, now);
                Decision::Repair(if self.applied {
                    self.repairs += 1;
                    Trigger::Repair
                } else {
                    Trigger::Start
                })
            }
        }
    }

    /// An apply for `trigger` found the writer lock held by `holder`:
    /// `true` when a wait for its release must start (none runs yet). An
    /// operator's request (or the start) is kept over a repair.
    pub fn writer_busy(&mut self, holder: String, trigger: Trigger) -> bool {
        self.drift.writer = Some(holder);
        let start = self.awaiting.is_none();
        if start || trigger != Trigger::Repair {
            self.awaiting = Some(trigger);
        }
        start
    }

    /// The other writer is done (the lock is ours, or waiting failed):
    /// what to apply now, if anything. Nothing while paused: resuming
    /// reconciles.
    pub fn writer_released(&mut self) -> Option<Trigger> {
        self.drift.writer = None;
        self.awaiting.take().filter(|_| !self.paused)
    }

    /// An apply succeeded: from now on the drift policy governs.
    pub fn applied(&mut self) {
        self.applied = true;
    }

    /// A new profile was loaded: it is applied once under any policy, and
    /// the old fights are forgotten.
    pub fn reloaded(&mut self) {
        self.forgive();
        self.applied = false;
    }

    /// The operator asked for a repair (reconcile, resume): the backoff is
    /// forgotten.
    pub fn forgive(&mut self) {
        self.governor.reset();
        self.backoff_until = None;
    }

    /// Pauses repairs; `false` if already paused.
    pub fn pause(&mut self) -> bool {
        if self.paused {
            return false;
        }
        self.paused = true;
        self.backoff_until = None;
        self.drift.backoff = None;
        true
    }

    pub fn resume(&mut self) {
        self.paused = false;
    }

    /// The backed-off repair is due: the next decision may repair.
    pub fn backoff_expired(&mut self) {
        self.backoff_until = None;
    }

    pub fn backoff_until(&self) -> Option<Instant> {
        self.backoff_until
    }

    pub fn drift(&self) -> &DriftStatus {
        &self.drift
    }

    pub fn paused(&self) -> bool {
        self.paused
    }

    pub fn is_applied(&self) -> bool {
        self.applied
    }

    /// Drift repairs since start.
    pub fn count(&self) -> u32 {
        self.repairs
    }
}

/// What a drift is about, for the backoff: the links its repair touches
/// (an address or route counts for its link). Not the exact operations: a
/// fighter that deletes a shim while it is being repaired leaves it now
/// missing, now without its address, and each of those is the same fight
/// (CI saw an op-exact digest let two repairs through the backoff that way).
fn digest(ops: &[Op]) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let links: std::collections::BTreeSet<&str> = ops.iter().map(Op::link).collect();
    let mut h = DefaultHasher::new();
    links.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn up(name: &str) -> Op {
        Op::SetUp { name: name.into() }
    }

    fn shim_missing(name: &str) -> Op {
        Op::AddAddress {
            link: name.into(),
            address: "192.168.30.1/24".parse().unwrap(),
        }
    }

    #[test]
    fn the_first_apply_runs_under_any_policy_then_the_policy_governs() {
        let t0 = Instant::now();
        for policy in [DriftPolicy::Enforce, DriftPolicy::Report] {
            let mut r = Repairs::default();
            assert_eq!(
                r.decide(Ok(&[up("eth1")]), policy, t0),
                Decision::Repair(Trigger::Start)
            );
            r.applied();
            let d = r.decide(Ok(&[up("eth1")]), policy, t0 + MS);
            match policy {
                DriftPolicy::Enforce => assert_eq!(d, Decision::Repair(Trigger::Repair)),
                DriftPolicy::Report => assert_eq!(
                    d,
                    Decision::Report {
                        new: false,
                        paused: false
                    }
                ),
            }
        }
    }

    #[test]
    fn in_sync_clears_the_drift_and_says_so_once() {
        let t0 = Instant::now();
        let mut r = Repairs::default();
        assert_eq!(
            r.decide(Ok(&[]), DriftPolicy::Enforce, t0),
            Decision::InSync { settled: false }
        );
        r.applied();
        r.pause();
        assert_eq!(
            r.decide(Ok(&[up("eth1")]), DriftPolicy::Enforce, t0),
            Decision::Report {
                new: true,
                paused: true
            }
        );
        assert_eq!(r.drift().pending, ["set eth1 up"]);
        assert_eq!(
            r.decide(Ok(&[up("eth1")]), DriftPolicy::Enforce, t0),
            Decision::Report {
                new: false,
                paused: true
            }
        );
        assert_eq!(
            r.decide(Ok(&[]), DriftPolicy::Enforce, t0),
            Decision::InSync { settled: true }
        );
        assert_eq!(r.drift(), &DriftStatus::default());
    }

    #[test]
    fn a_conflict_is_reported_once_and_never_repaired() {
        let t0 = Instant::now();
        let mut r = Repairs::default();
        let conflict = || Err("eth1: declared but missing".to_owned());
        assert_eq!(
            r.decide(conflict(), DriftPolicy::Enforce, t0),
            Decision::Conflict { new: true }
        );
        assert_eq!(
            r.decide(conflict(), DriftPolicy::Enforce, t0),
            Decision::Conflict { new: false }
        );
        assert_eq!(
            r.drift().conflict.as_deref(),
            Some("eth1: declared but missing")
        );
        assert_eq!(
            r.decide(Ok(&[]), DriftPolicy::Enforce, t0),
            Decision::InSync { settled: true }
        );
    }

    /// A fighter deleting the shim's address after every repair: three
    /// repairs go through, then the fourth waits; the wait is reported
    /// once, shows in the drift, and ends when it expires.
    #[test]
    fn a_fight_backs_off_and_the_operator_can_override_it() {
        let t0 = Instant::now();
        let mut r = Repairs::default();
        r.applied();
        let fight = [shim_missing("pods0")];
        for i in 0..3 {
            assert_eq!(
                r.decide(Ok(&fight), DriftPolicy::Enforce, t0 + i * MS),
                Decision::Repair(Trigger::Repair)
            );
        }
        let Decision::Wait { until, streak, new } =
            r.decide(Ok(&fight), DriftPolicy::Enforce, t0 + 3 * MS)
        else {
            panic!("no backoff");
        };
        assert_eq!((streak, new), (3, true));
        assert_eq!(r.backoff_until(), Some(until));
        assert_eq!(r.drift().backoff.as_ref().map(|b| b.streak), Some(3));
        assert!(matches!(
            r.decide(Ok(&fight), DriftPolicy::Enforce, t0 + 4 * MS),
            Decision::Wait { new: false, .. }
        ));
        // Another link's drift is another fight.
        assert_eq!(
            r.decide(Ok(&[up("eth9")]), DriftPolicy::Enforce, t0 + 5 * MS),
            Decision::Repair(Trigger::Repair)
        );
        r.forgive();
        assert_eq!(r.backoff_until(), None);
        assert_eq!(
            r.decide(Ok(&fight), DriftPolicy::Enforce, t0 + 6 * MS),
            Decision::Repair(Trigger::Repair)
        );
        assert_eq!(r.count(), 5);
    }

    #[test]
    fn pausing_drops_the_backoff_and_a_reload_applies_once_more() {
        let t0 = Instant::now();
        let mut r = Repairs::default();
        r.applied();
        for i in 0..4 {
            r.decide(Ok(&[up("eth1")]), DriftPolicy::Enforce, t0 + i * MS);
        }
        assert!(r.backoff_until().is_some());
        assert!(r.pause());
        assert!(!r.pause());
        assert_eq!((r.backoff_until(), &r.drift().backoff), (None, &None));
        r.resume();
        r.reloaded();
        assert!(!r.is_applied());
        assert_eq!(
            r.decide(Ok(&[up("eth1")]), DriftPolicy::Report, t0 + 5 * MS),
            Decision::Repair(Trigger::Start)
        );
    }

    #[test]
    fn a_held_writer_lock_defers_the_apply_and_keeps_the_operators_request() {
        let t0 = Instant::now();
        let mut r = Repairs::default();
        r.applied();
        assert_eq!(
            r.decide(Ok(&[up("eth1")]), DriftPolicy::Enforce, t0),
            Decision::Repair(Trigger::Repair)
        );
        let holder = "PID 7 (n3xnetctl apply)".to_owned();
        assert!(r.writer_busy(holder.clone(), Trigger::Repair));
        assert_eq!(r.drift().writer.as_ref(), Some(&holder));
        // The other writer's changes come in: no apply, no second wait,
        // nothing counted against the backoff.
        for i in 1..10 {
            assert_eq!(
                r.decide(Ok(&[up("eth1")]), DriftPolicy::Enforce, t0 + i * MS),
                Decision::AwaitWriter
            );
        }
        assert!(!r.writer_busy(holder.clone(), Trigger::Reconcile));
        assert!(!r.writer_busy(holder.clone(), Trigger::Repair));
        // In sync meanwhile: the wait still shows.
        r.decide(Ok(&[]), DriftPolicy::Enforce, t0);
        assert_eq!(r.drift().writer.as_ref(), Some(&holder));
        assert_eq!(r.writer_released(), Some(Trigger::Reconcile));
        assert_eq!(r.drift().writer, None);
        assert_eq!(r.writer_released(), None);
        assert_eq!(
            r.decide(Ok(&[up("eth1")]), DriftPolicy::Enforce, t0 + 20 * MS),
            Decision::Repair(Trigger::Repair)
        );
    }

    #[test]
    fn a_pause_while_waiting_for_the_writer_drops_the_apply() {
        let mut r = Repairs::default();
        assert!(r.writer_busy("PID 7 (x)".into(), Trigger::Start));
        r.pause();
        assert_eq!(r.writer_released(), None);
    }

    #[test]
    fn a_drift_is_the_links_it_touches_not_its_exact_ops() {
        let whole = [up("mv-pods"), shim_missing("mv-pods")];
        let part = [shim_missing("mv-pods")];
        assert_eq!(digest(&whole), digest(&part));
        assert_eq!(
            digest(&whole),
            digest(&[whole[1].clone(), whole[0].clone()])
        );
        assert_ne!(digest(&part), digest(&[shim_missing("eth1")]));
        assert_ne!(
            digest(&part),
            digest(&[part[0].clone(), shim_missing("eth1")])
        );
    }
}
