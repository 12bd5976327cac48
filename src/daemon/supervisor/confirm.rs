//! The supervisor's side of confirmed changes ([`crate::change::pending`]
//! decides, [`crate::change::reach`] checks): journalling a change before
//! its first write, its deadline and reachability rounds, reverting, and
//! the journal found at start. Kept apart from the loop so the loop stays
//! thin; it works on the loop's [`Core`].

use std::time::Duration;

use tokio::time::Instant;

use super::{ConfirmWhen, ControlError, Core};
use crate::api::status::{ChangeState, ChangeStatus, Trigger, Until};
use crate::change::boot_id;
use crate::change::pending::{Changes, Event, Journal, JournalFile, Revert, Startup, Verdict};
use crate::change::reach;
use crate::clock::{millis, now_ms};
use crate::daemon::setup::Setup;
use crate::engine;
use crate::netlink::Events;

impl Core {
    /// Runs a valid reloaded setup: journals a confirmed change first,
    /// applies (unless paused), reverts a confirmed change whose apply
    /// failed.
    pub(super) async fn switch(
        &mut self,
        new: Setup,
        confirm: Option<(Duration, ConfirmWhen)>,
    ) -> Result<(), ControlError> {
        let digest = new.desired.digest();
        match &confirm {
            None => {
                let forgotten = self.changes.reload(&digest).map_err(|r| {
                    tracing::warn!("reload refused: {r}");
                    r
                })?;
                if forgotten {
                    tracing::info!("the profile file changed: the reverted change is forgotten");
                    self.save_journal();
                }
            }
            Some((within, when)) => self.begin_change(&new, &digest, *within, when)?,
        }
        tracing::info!(
            profile = %new.config.profile.display(),
            node = %new.desired.node,
            changed = new.desired != self.setup.desired,
            "reload: configuration and profile valid"
        );
        self.use_setup(new);
        self.reload_error = None;
        self.repairs.reloaded();
        if self.repairs.paused() {
            tracing::warn!("paused by operator: the reloaded profile is applied on resume");
            return Ok(());
        }
        let r = self.apply(Trigger::Reload, None).await;
        match (self.outcome(r), confirm) {
            (Err(e), Some(_)) => {
                if let Some(previous) = self.changes.apply_failed() {
                    self.revert(previous).await;
                }
                Err(ControlError::Failed(format!(
                    "the change failed and was rolled back ({e}); the previous profile runs"
                )))
            }
            _ => Ok(()),
        }
    }

    /// The supervised network is now `setup`'s.
    fn use_setup(&mut self, setup: Setup) {
        self.setup = setup;
        self.desired_digest = self.setup.desired.digest();
        self.sync_cni_configs();
    }

    /// Whether a confirmed change may begin now.
    pub(super) fn may_change(&self) -> Result<(), ControlError> {
        if let Some(e) = &self.journal_error {
            return Err(ControlError::Failed(format!(
                "{e}: no confirmed change until it is repaired or removed"
            )));
        }
        if self.repairs.paused() {
            return Err(ControlError::Refused(
                "paused by operator: a confirmed change needs n3xnetd to apply it (n3xnetctl \
                 resume)"
                    .to_owned(),
            ));
        }
        Ok(self.changes.may_change()?)
    }

    /// Journals the change to `new` durably, before anything is written,
    /// and arms its deadline.
    fn begin_change(
        &mut self,
        new: &Setup,
        digest: &str,
        within: Duration,
        when: &ConfirmWhen,
    ) -> Result<(), ControlError> {
        let reach = match when {
            ConfirmWhen::Confirmed => Vec::new(),
            ConfirmWhen::Reachable(explicit) => {
                reach::targets(&new.reach, explicit.as_deref()).map_err(ControlError::Invalid)?
            }
        };
        let until = match when {
            ConfirmWhen::Confirmed => Until::Confirmed,
            ConfirmWhen::Reachable(_) => Until::Reachable {
                targets: reach.iter().map(ToString::to_string).collect(),
            },
        };
        let deadline = Instant::now().checked_add(within).ok_or_else(|| {
            ControlError::Invalid(format!(
                "confirm-within: found {} s, expected a window the clock can count",
                within.as_secs()
            ))
        })?;
        let now = now_ms();
        let change = ChangeStatus {
            state: ChangeState::Pending,
            until,
            started_at_ms: now,
            deadline_ms: now.saturating_add(millis(within)),
            change_digest: digest.to_owned(),
            previous_digest: self.desired_digest.clone(),
            reason: None,
            error: None,
            last_check: None,
        };
        let previous = Revert::PreviousProfile(self.setup.profile_text.clone());
        let journal = self.changes.begin(change, previous);
        if let Err(e) = self.journal.save(Some(journal)) {
            self.changes.abandon();
            tracing::error!("{e}: the change is not applied");
            return Err(ControlError::Failed(format!("{e}: nothing changed")));
        }
        self.change_deadline = Some(deadline);
        tracing::warn!(
            within_ms = millis(within),
            change = digest,
            previous = %self.desired_digest,
            reachable = reach.iter().map(ToString::to_string).collect::<Vec<_>>().join(" "),
            "confirmed change: applying; it reverts in {:.1} s unless {}",
            within.as_secs_f64(),
            if reach.is_empty() { "confirmed" } else { "reachable or confirmed" }
        );
        // The first round right after the apply.
        self.next_round = (!reach.is_empty()).then(Instant::now);
        self.failed_rounds = 0;
        self.reach = reach;
        Ok(())
    }

    /// Acts on an event about the pending change.
    pub(super) async fn change_event(
        &mut self,
        events: &mut Events,
        event: Event,
    ) -> Result<(), ControlError> {
        let result = match self.changes.on(event) {
            Verdict::Keep => {
                self.end_checks();
                tracing::info!(event = ?event, "the change is kept");
                self.save_journal();
                Ok(())
            }
            Verdict::Revert(previous) => {
                self.revert(previous).await;
                match self.changes.status() {
                    Some(c) if c.state == ChangeState::RevertFailed => {
                        Err(ControlError::Failed(format!(
                            "the revert failed: {}; the journal is kept",
                            c.error.as_deref().unwrap_or("unknown error")
                        )))
                    }
                    _ => Ok(()),
                }
            }
            Verdict::Refuse(r) => return Err(r.into()),
        };
        self.refresh(events, None).await;
        result
    }

    /// Applies the previous profile (its text) as an ordinary
    /// transactional apply; [`Core::change_applied`] records the outcome.
    /// An undo log is n3xnetctl's to run (`n3xnetctl rollback`): the
    /// daemon only holds such a change ([`Changes::start`]).
    async fn revert(&mut self, previous: Revert) {
        self.end_checks();
        let reason = self
            .changes
            .status()
            .and_then(|c| c.reason.clone())
            .unwrap_or_default();
        tracing::warn!(
            reason,
            "reverting the change: applying the previous profile"
        );
        self.save_journal();
        let Revert::PreviousProfile(previous) = previous else {
            let e = "n3xnetctl's change (an undo log): `n3xnetctl rollback` reverts it";
            tracing::error!("REVERT FAILED: {e}; the journal is kept");
            self.changes.revert_failed(e.to_owned());
            self.save_journal();
            return;
        };
        match self.setup.with_profile_text(&previous) {
            Ok(setup) => {
                self.use_setup(setup);
                let _ = self.apply(Trigger::Reload, None).await;
            }
            Err(e) => {
                let e = format!("the previous profile does not load: {e}");
                tracing::error!("REVERT FAILED: {e}; the journal is kept");
                self.changes.revert_failed(e);
                self.save_journal();
            }
        }
    }

    /// n3xnetctl's change found pending at start (made while n3xnetd was
    /// not running, [`Changes::start`]): reverted first, from its undo
    /// log, as a transaction of its own under the writer lock; then
    /// forgotten, as the daemon runs its own profile. A failed revert
    /// keeps the journal (and `STATUS=` says so).
    pub(super) async fn revert_ctl_change(&mut self) {
        let Some(Journal {
            revert: Revert::Undo(log),
            ..
        }) = self.changes.journal().cloned()
        else {
            return;
        };
        tracing::warn!(
            ops = log.ops.len(),
            "started with n3xnetctl's unconfirmed change: reverting it first"
        );
        let error = match engine::lock::acquire(self.handle.netns(), None).await {
            Ok(lock) => match engine::revert(&self.handle, &log.ops, &lock).await {
                Ok(r) if r.outcome.converged() => None,
                Ok(r) => Some(r.summary()),
                Err(e) => Some(e.to_string()),
            },
            Err(e) => Some(e.to_string()),
        };
        self.changes.reverted(error.as_deref());
        match error {
            None => {
                tracing::warn!("n3xnetctl's change is reverted");
                self.changes = Changes::default();
            }
            Some(e) => tracing::error!("REVERT FAILED: {e}; the journal is kept"),
        }
        self.save_journal();
    }

    /// The pending change is decided: no deadline, no more checks.
    fn end_checks(&mut self) {
        self.change_deadline = None;
        self.round = None;
        self.next_round = None;
        self.reach.clear();
    }

    /// Starts a round of reachability checks, if the change still waits
    /// for one.
    pub(super) async fn start_round(&mut self) {
        self.next_round = None;
        if self.changes.pending().is_some() {
            self.round = Some(reach::round(&self.handle, &self.reach).await);
        }
    }

    /// A round of checks ended: every target answered (the change is
    /// kept), or the next round is due after a backoff, inside the window.
    pub(super) async fn round_done(&mut self, events: &mut Events, result: Result<(), String>) {
        match result {
            Ok(()) => {
                tracing::info!(
                    rounds = self.failed_rounds + 1,
                    "reachable: every check answered"
                );
                let _ = self.change_event(events, Event::Reachable).await;
            }
            Err(e) => {
                let same = self.changes.pending().and_then(|c| c.last_check.as_deref())
                    == Some(e.as_str());
                if same {
                    tracing::debug!("reachability check failed again: {e}");
                } else {
                    tracing::warn!("reachability check failed: {e}; checking again");
                }
                self.changes.checked(Some(e));
                self.next_round = Some(Instant::now() + reach::retry_after(self.failed_rounds));
                self.failed_rounds = self.failed_rounds.saturating_add(1);
                self.publish();
            }
        }
    }

    /// An apply ended (`error` if it failed): finishes a revert of the
    /// pending change, durably.
    pub(super) fn change_applied(&mut self, error: Option<&str>) {
        if !self.changes.applied(&self.desired_digest, error) {
            return;
        }
        match error {
            None => tracing::warn!("the change is reverted: the previous profile runs"),
            Some(e) => tracing::error!("REVERT FAILED: {e}; the journal is kept"),
        }
        self.save_journal();
    }

    /// Writes the journal as [`Changes`] has it (removed when none);
    /// logged if that fails.
    fn save_journal(&self) {
        if let Err(e) = self.journal.save(self.changes.journal()) {
            tracing::error!("{e}");
        }
    }
}

/// The journal found at start, and the setup to start with: the previous
/// profile when a change is pending or was reverted ([`Changes::start`]).
pub(super) fn start_changes(
    journal: &JournalFile,
    setup: Setup,
) -> (Changes, Setup, Option<String>) {
    let found = match journal.load() {
        Ok(Some(Journal {
            revert: Revert::Undo(log),
            ..
        })) if boot_id().is_ok_and(|id| id != log.boot_id) => {
            tracing::warn!(
                "n3xnetctl's confirmed change in the journal is of an earlier boot, which undid \
                 it: forgetting it"
            );
            if let Err(e) = journal.save(None) {
                tracing::error!("{e}");
            }
            None
        }
        Ok(found) => found,
        Err(e) => {
            tracing::error!("{e}; starting with the profile file");
            return (Changes::default(), setup, Some(e.to_string()));
        }
    };
    let (mut changes, startup) = Changes::start(found, &setup.desired.digest());
    let Startup::Previous(previous) = startup else {
        if journal.path.exists() {
            tracing::info!("the profile file changed since the reverted change: forgetting it");
            if let Err(e) = journal.save(None) {
                tracing::error!("{e}");
            }
        }
        return (changes, setup, None);
    };
    let reverting = changes
        .status()
        .is_some_and(|c| c.state == ChangeState::Reverting);
    match setup.with_profile_text(&previous) {
        Ok(previous) if reverting => {
            tracing::warn!(
                "started with an unconfirmed change: reverting it to the previous profile first"
            );
            (changes, previous, None)
        }
        Ok(previous) => {
            tracing::warn!(
                "the profile file still holds the change that was reverted: running the previous \
                 profile until the file changes and is reloaded"
            );
            (changes, previous, None)
        }
        Err(e) => {
            let e = format!("the previous profile does not load: {e}");
            tracing::error!("REVERT FAILED: {e}; the journal is kept");
            changes.revert_failed(e);
            if let Err(e) = journal.save(changes.journal()) {
                tracing::error!("{e}");
            }
            (changes, setup, None)
        }
    }
}
