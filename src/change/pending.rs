//! Confirmed changes, the decisions without the I/O: a reload with
//! `--confirm-within` is journalled, applied, and reverted to the profile
//! before it unless it is confirmed (by the operator, or by the network
//! answering) before its deadline.
//!
//! The journal (`<state dir>/change.json`, written durably before the
//! change's first write to the kernel) holds the previous profile's text,
//! so a revert is an ordinary transactional apply of that profile, and a
//! restarted daemon can revert without anything but the journal.
//!
//! A daemon that starts with a pending change reverts it first, whether
//! or not its deadline has passed: the daemon cannot tell whether the
//! change caused the crash or reboot that restarted it, and a node that
//! comes back on the profile it had before is reachable the way it was
//! (the operator can apply the change again). Once reverted, the journal
//! stays as a record of the rejected change's digest: while the profile
//! file still holds that change, the daemon keeps running the previous
//! profile and says so, until the file changes and is reloaded.
//!
//! [`Changes`] is the state machine: the supervisor feeds it events
//! ([`Event`]) and apply outcomes, and does what it decides.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::api::status::{ChangeState, ChangeStatus, Until};
use crate::files::{write_atomic, Durability};
use crate::plan::Op;
use crate::trust::TrustError;

/// The journal's file name in the state directory.
pub const JOURNAL_FILE: &str = "change.json";

const VERSION: u32 = 1;

/// The journal as stored: the change and what to go back to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Journal {
    pub version: u32,
    pub change: ChangeStatus,
    /// Flattened, so n3xnetd's journals read as they always did
    /// (`"previousProfile": ...`) and n3xnetctl's carry `"undo": {...}`.
    #[serde(flatten)]
    pub revert: Revert,
}

/// What a revert restores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Revert {
    /// n3xnetd's change: the text of the profile that ran before it; a
    /// revert is an ordinary apply of it.
    PreviousProfile(String),
    /// `n3xnetctl apply`'s change: the executor's undo log, computed from
    /// the snapshot before the change's first write; a revert runs it as a
    /// transaction of its own.
    Undo(UndoLog),
}

/// An `n3xnetctl apply --confirm-within` change's way back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UndoLog {
    /// The named namespace the change was applied in (`None`: n3xnetctl's
    /// own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netns: Option<String>,
    /// The boot the change was made in (`/proc/sys/kernel/random/boot_id`):
    /// after a reboot the kernel has forgotten the change, and the undo log
    /// would only break the fresh state.
    pub boot_id: String,
    /// The ops that give the kernel back its state before the change, in
    /// the order they run.
    pub ops: Vec<Op>,
}

/// Something that bears on a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// `n3xnetctl confirm`.
    Confirm,
    /// `n3xnetctl rollback`.
    Rollback,
    /// The deadline passed.
    Deadline,
    /// Every reachability target answered.
    Reachable,
}

/// Why a change is reverted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Rollback,
    Deadline,
    Unreachable,
    Restart,
    ApplyFailed,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Rollback => "rollback",
            Reason::Deadline => "deadline",
            Reason::Unreachable => "unreachable",
            Reason::Restart => "restart",
            Reason::ApplyFailed => "apply failed",
        }
    }
}

/// What to do about an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Keep the change: the journal goes.
    Keep,
    /// Restore what the journal says.
    Revert(Revert),
    /// Nothing to do; the answer for the operator.
    Refuse(Refusal),
}

/// Why an operator's request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A change is pending (or its revert is unfinished): no other one.
    #[error("{0}")]
    Pending(String),
    /// There is no pending change to confirm or roll back.
    #[error("{0}")]
    NotPending(String),
}

/// What a starting daemon does about the journal it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Startup {
    /// No journal, or one about a profile file that has changed since.
    Normal,
    /// Run the previous profile (its text): a pending change is reverted,
    /// or the file still holds a reverted one.
    Previous(String),
}

/// The change, if any, and its decisions.
#[derive(Debug, Default)]
pub struct Changes {
    journal: Option<Journal>,
}

impl Changes {
    /// The state a daemon finds at start; `file_digest` is the digest of
    /// the network its profile file describes.
    pub fn start(journal: Option<Journal>, file_digest: &str) -> (Changes, Startup) {
        let Some(mut j) = journal else {
            return (Changes::default(), Startup::Normal);
        };
        let previous = match &j.revert {
            Revert::PreviousProfile(text) => text.clone(),
            // n3xnetctl's change, made while n3xnetd was not running: the
            // daemon reverts it from its undo log before anything else, for
            // the same reason as its own (and then runs its profile); a
            // record of a reverted one is n3xnetctl's, forgotten here.
            Revert::Undo(_) if j.change.state == ChangeState::Reverted => {
                return (Changes::default(), Startup::Normal);
            }
            Revert::Undo(_) => {
                revert(&mut j.change, Reason::Restart);
                return (Changes { journal: Some(j) }, Startup::Normal);
            }
        };
        let startup = match j.change.state {
            ChangeState::Reverted if j.change.change_digest != file_digest => {
                return (Changes::default(), Startup::Normal);
            }
            ChangeState::Reverted => Startup::Previous(previous),
            _ => {
                revert(&mut j.change, Reason::Restart);
                Startup::Previous(previous)
            }
        };
        (Changes { journal: Some(j) }, startup)
    }

    /// n3xnetctl's view: the journal as it stands, nothing decided at
    /// start (n3xnetctl runs only to act on it).
    pub fn resume(journal: Option<Journal>) -> Changes {
        Changes { journal }
    }

    pub fn status(&self) -> Option<&ChangeStatus> {
        self.journal.as_ref().map(|j| &j.change)
    }

    pub fn journal(&self) -> Option<&Journal> {
        self.journal.as_ref()
    }

    /// The change, while a deadline or a check bears on it.
    pub fn pending(&self) -> Option<&ChangeStatus> {
        self.status().filter(|c| c.state == ChangeState::Pending)
    }

    /// Whether another change may begin: not while one is pending or its
    /// revert is unfinished.
    pub fn may_change(&self) -> Result<(), Refusal> {
        match self.status() {
            Some(c) if c.state != ChangeState::Reverted => Err(Refusal::Pending(format!(
                "a confirmed change is {} (reverts at {} UTC unless confirmed): `n3xnetctl confirm` \
                 keeps it, `n3xnetctl rollback` reverts it; then change again",
                describe(c.state),
                crate::clock::hms(c.deadline_ms),
            ))),
            _ => Ok(()),
        }
    }

    /// A plain reload of a profile whose network digest is `digest`:
    /// refused while a change is pending, and while the file still holds
    /// the reverted change (the previous profile keeps running); otherwise
    /// the record of a reverted change is forgotten (returns true).
    pub fn reload(&mut self, digest: &str) -> Result<bool, Refusal> {
        self.may_change()?;
        match self.status() {
            Some(c) if c.change_digest == digest => Err(Refusal::Pending(format!(
                "the profile file still holds the change that was reverted ({}): the previous \
                 profile keeps running; change the file, or reload it with --confirm-within to \
                 try it again",
                c.reason.as_deref().unwrap_or("reverted"),
            ))),
            Some(_) => {
                self.journal = None;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Begins a change (after [`Changes::may_change`]): the journal to
    /// write before the change's first write.
    pub fn begin(&mut self, change: ChangeStatus, revert: Revert) -> &Journal {
        self.journal.insert(Journal {
            version: VERSION,
            change,
            revert,
        })
    }

    /// Forgets a change that never reached the kernel (its journal could
    /// not be written).
    pub fn abandon(&mut self) {
        self.journal = None;
    }

    /// Decides about `event`.
    pub fn on(&mut self, event: Event) -> Verdict {
        let Some(j) = self.journal.as_mut() else {
            return Verdict::Refuse(Refusal::NotPending(
                "no confirmed change is pending".to_owned(),
            ));
        };
        let c = &mut j.change;
        match (c.state, event) {
            (ChangeState::Pending, Event::Confirm) => {
                self.journal = None;
                Verdict::Keep
            }
            (ChangeState::Pending, Event::Reachable)
                if matches!(c.until, Until::Reachable { .. }) =>
            {
                self.journal = None;
                Verdict::Keep
            }
            (ChangeState::Pending, Event::Deadline) => {
                let reason = match c.until {
                    Until::Confirmed => Reason::Deadline,
                    Until::Reachable { .. } => Reason::Unreachable,
                };
                revert(c, reason);
                Verdict::Revert(j.revert.clone())
            }
            // Reverting: one cut short (n3xnetctl's watcher killed in the
            // middle); n3xnetd's never is when a command arrives, and
            // n3xnetctl's reverts read the journal under the writer lock.
            (
                ChangeState::Pending | ChangeState::Reverting | ChangeState::RevertFailed,
                Event::Rollback,
            ) => {
                revert(c, Reason::Rollback);
                Verdict::Revert(j.revert.clone())
            }
            (ChangeState::RevertFailed, Event::Confirm) => {
                Verdict::Refuse(Refusal::Pending(format!(
                    "the change's revert failed ({}): `n3xnetctl rollback` tries it again",
                    c.error.as_deref().unwrap_or("unknown error")
                )))
            }
            (state, _) => Verdict::Refuse(Refusal::NotPending(format!(
                "no confirmed change is pending: the last one is {} ({})",
                describe(state),
                c.reason.as_deref().unwrap_or("-")
            ))),
        }
    }

    /// The change's apply failed (and was rolled back by the engine): the
    /// previous profile is applied again, so the daemon's notion of its
    /// profile is the one the kernel has.
    pub fn apply_failed(&mut self) -> Option<Revert> {
        let j = self.journal.as_mut()?;
        revert(&mut j.change, Reason::ApplyFailed);
        Some(j.revert.clone())
    }

    /// An apply of the network whose digest is `digest` ended, converged
    /// or with `error`: finishes a revert of it. Returns whether the
    /// journal changed.
    pub fn applied(&mut self, digest: &str, error: Option<&str>) -> bool {
        let Some(c) = self.journal.as_mut().map(|j| &mut j.change) else {
            return false;
        };
        if c.previous_digest != digest {
            return false;
        }
        self.reverted(error)
    }

    /// A revert of the change ended, with `error` if it failed (n3xnetctl's
    /// undo log has no digest to match). Returns whether the journal
    /// changed.
    pub fn reverted(&mut self, error: Option<&str>) -> bool {
        let Some(c) = self.journal.as_mut().map(|j| &mut j.change) else {
            return false;
        };
        if !matches!(c.state, ChangeState::Reverting | ChangeState::RevertFailed) {
            return false;
        }
        let next = match error {
            None => ChangeState::Reverted,
            Some(_) => ChangeState::RevertFailed,
        };
        let error = error.map(str::to_owned);
        let changed = c.state != next || c.error != error;
        c.state = next;
        c.error = error;
        changed
    }

    /// The previous profile could not even be loaded for the revert.
    pub fn revert_failed(&mut self, error: String) {
        if let Some(j) = self.journal.as_mut() {
            j.change.state = ChangeState::RevertFailed;
            j.change.error = Some(error);
        }
    }

    /// A reachability check failed (kept for the status, and in the
    /// record of a revert for unreachability), or passed.
    pub fn checked(&mut self, failure: Option<String>) {
        if let Some(j) = self.journal.as_mut() {
            j.change.last_check = failure;
        }
    }

    /// The part of the `STATUS=` line about the change.
    pub fn status_note(&self) -> Option<String> {
        let c = self.status()?;
        let reason = c.reason.as_deref().unwrap_or("-");
        Some(match c.state {
            ChangeState::Pending => format!(
                "change pending: reverts at {} UTC unless {}",
                crate::clock::hms(c.deadline_ms),
                match c.until {
                    Until::Confirmed => "confirmed",
                    Until::Reachable { .. } => "reachable or confirmed",
                }
            ),
            ChangeState::Reverting => format!("reverting the change ({reason})"),
            ChangeState::Reverted => format!(
                "change reverted ({reason}): running the previous profile until the profile \
                 file changes"
            ),
            ChangeState::RevertFailed => format!(
                "REVERT FAILED ({reason}): {}; `n3xnetctl rollback` retries",
                c.error.as_deref().unwrap_or("unknown error")
            ),
        })
    }
}

fn revert(c: &mut ChangeStatus, reason: Reason) {
    c.state = ChangeState::Reverting;
    c.reason = Some(reason.as_str().to_owned());
}

fn describe(state: ChangeState) -> &'static str {
    match state {
        ChangeState::Pending => "pending",
        ChangeState::Reverting => "being reverted",
        ChangeState::Reverted => "reverted",
        ChangeState::RevertFailed => "pending: its revert failed",
    }
}

/// The journal's I/O.
#[derive(Debug, Clone)]
pub struct JournalFile {
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot read the change journal {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the change journal {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Someone other than root could have written it: it decides the
    /// profile the daemon starts with.
    #[error("the change journal: {0}")]
    Untrusted(#[from] TrustError),
    #[error("the change journal {} is not one (version {version:?}): {detail}", path.display())]
    Invalid {
        path: PathBuf,
        version: Option<u32>,
        detail: String,
    },
}

impl JournalFile {
    pub fn in_dir(dir: &Path) -> JournalFile {
        JournalFile {
            path: dir.join(JOURNAL_FILE),
        }
    }

    /// The journal, if there is one, once it is known that only root
    /// could have written it ([`crate::trust`]).
    pub fn load(&self) -> Result<Option<Journal>, JournalError> {
        crate::trust::check(&self.path)?;
        let text = match std::fs::read(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(JournalError::Read {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let journal: Journal =
            serde_json::from_slice(&text).map_err(|e| JournalError::Invalid {
                path: self.path.clone(),
                version: None,
                detail: e.to_string(),
            })?;
        if journal.version != VERSION {
            return Err(JournalError::Invalid {
                path: self.path.clone(),
                version: Some(journal.version),
                detail: format!("this n3xnetd reads version {VERSION}"),
            });
        }
        Ok(Some(journal))
    }

    /// Writes `journal` durably (on disk before this returns), or removes
    /// the file for `None`.
    pub fn save(&self, journal: Option<&Journal>) -> Result<(), JournalError> {
        let write = || -> std::io::Result<()> {
            match journal {
                Some(j) => {
                    if let Some(dir) = self.path.parent() {
                        std::fs::create_dir_all(dir)?;
                    }
                    let mut json = serde_json::to_vec_pretty(j).map_err(std::io::Error::other)?;
                    json.push(b'\n');
                    write_atomic(&self.path, &json, Durability::Durable)
                }
                None => match std::fs::remove_file(&self.path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                    _ => Ok(()),
                },
            }
        };
        write().map_err(|source| JournalError::Write {
            path: self.path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(until: Until) -> ChangeStatus {
        ChangeStatus {
            state: ChangeState::Pending,
            until,
            started_at_ms: 1_000,
            deadline_ms: 4_000,
            change_digest: "new".into(),
            previous_digest: "old".into(),
            reason: None,
            error: None,
            last_check: None,
        }
    }

    fn old() -> Revert {
        Revert::PreviousProfile("old profile".into())
    }

    fn pending(until: Until) -> Changes {
        let mut c = Changes::default();
        c.may_change().unwrap();
        c.begin(change(until), old());
        c
    }

    fn state(c: &Changes) -> Option<ChangeState> {
        c.status().map(|s| s.state)
    }

    #[test]
    fn confirmed_in_time_is_kept_and_the_journal_goes() {
        let mut c = pending(Until::Confirmed);
        assert!(c.pending().is_some());
        assert_eq!(c.on(Event::Confirm), Verdict::Keep);
        assert!(c.journal().is_none());
        // Nothing left to confirm or roll back.
        assert!(matches!(
            c.on(Event::Rollback),
            Verdict::Refuse(Refusal::NotPending(_))
        ));
    }

    #[test]
    fn the_deadline_reverts_and_the_revert_ends_in_a_record() {
        let mut c = pending(Until::Confirmed);
        assert_eq!(c.on(Event::Deadline), Verdict::Revert(old()));
        assert_eq!(state(&c), Some(ChangeState::Reverting));
        assert!(c.may_change().is_err(), "no change while reverting");
        // An apply of another network does not finish it.
        assert!(!c.applied("new", None));
        assert!(c.applied("old", None));
        let s = c.status().unwrap();
        assert_eq!(
            (s.state, s.reason.as_deref()),
            (ChangeState::Reverted, Some("deadline"))
        );
        // A late confirm is refused, saying what happened.
        let Verdict::Refuse(Refusal::NotPending(m)) = c.on(Event::Confirm) else {
            panic!("a late confirm was not refused");
        };
        assert!(m.contains("reverted (deadline)"), "{m}");
        c.may_change().unwrap();
    }

    #[test]
    fn rollback_reverts_at_once_and_a_failed_revert_can_be_retried() {
        let mut c = pending(Until::Confirmed);
        assert_eq!(c.on(Event::Rollback), Verdict::Revert(old()));
        assert!(c.applied("old", Some("EBUSY")));
        let s = c.status().unwrap();
        assert_eq!(s.state, ChangeState::RevertFailed);
        assert!(c
            .status_note()
            .unwrap()
            .starts_with("REVERT FAILED (rollback): EBUSY"));
        // Neither kept nor replaced while the revert is unfinished ...
        assert!(matches!(
            c.on(Event::Confirm),
            Verdict::Refuse(Refusal::Pending(_))
        ));
        assert!(c.may_change().is_err());
        // ... but tried again.
        assert!(matches!(c.on(Event::Rollback), Verdict::Revert(_)));
        assert!(c.applied("old", None));
        assert_eq!(state(&c), Some(ChangeState::Reverted));
    }

    #[test]
    fn reachability_keeps_only_a_change_that_asked_for_it() {
        let mut c = pending(Until::Confirmed);
        assert!(matches!(c.on(Event::Reachable), Verdict::Refuse(_)));
        assert_eq!(state(&c), Some(ChangeState::Pending));
        let mut c = pending(Until::Reachable {
            targets: vec!["10.0.0.1:6443".into()],
        });
        c.checked(Some("10.0.0.1:6443: connection refused".into()));
        assert!(c.status().unwrap().last_check.is_some());
        assert_eq!(c.on(Event::Reachable), Verdict::Keep);
        let mut c = pending(Until::Reachable { targets: vec![] });
        assert!(matches!(c.on(Event::Deadline), Verdict::Revert(_)));
        assert_eq!(c.status().unwrap().reason.as_deref(), Some("unreachable"));
    }

    #[test]
    fn a_second_change_is_refused_while_one_is_pending() {
        let mut c = pending(Until::Confirmed);
        let Err(Refusal::Pending(m)) = c.may_change() else {
            panic!("a second change was allowed");
        };
        assert!(m.contains("n3xnetctl confirm"), "{m}");
        assert!(matches!(c.reload("new"), Err(Refusal::Pending(_))));
    }

    #[test]
    fn a_failed_apply_reverts() {
        let mut c = pending(Until::Confirmed);
        assert_eq!(c.apply_failed(), Some(old()));
        assert_eq!(c.status().unwrap().reason.as_deref(), Some("apply failed"));
    }

    #[test]
    fn a_restart_reverts_a_pending_change_whatever_its_deadline() {
        for s in [
            ChangeState::Pending,
            ChangeState::Reverting,
            ChangeState::RevertFailed,
        ] {
            let mut j = pending(Until::Confirmed).journal().unwrap().clone();
            j.change.state = s;
            let (c, startup) = Changes::start(Some(j), "new");
            assert_eq!(startup, Startup::Previous("old profile".into()));
            assert_eq!(state(&c), Some(ChangeState::Reverting));
            assert_eq!(c.status().unwrap().reason.as_deref(), Some("restart"));
        }
    }

    #[test]
    fn a_reverted_change_keeps_the_previous_profile_while_the_file_holds_it() {
        let mut c = pending(Until::Confirmed);
        c.on(Event::Deadline);
        c.applied("old", None);
        let j = c.journal().unwrap().clone();
        // Restarted with the rejected file: the previous profile runs.
        let (mut again, startup) = Changes::start(Some(j.clone()), "new");
        assert_eq!(startup, Startup::Previous("old profile".into()));
        assert_eq!(state(&again), Some(ChangeState::Reverted));
        // A plain reload of the same file is refused, saying why ...
        let Err(Refusal::Pending(m)) = again.reload("new") else {
            panic!("a reload of the rejected file was allowed");
        };
        assert!(
            m.contains("still holds the change that was reverted"),
            "{m}"
        );
        // ... one of a changed file forgets the record.
        assert_eq!(again.reload("fixed"), Ok(true));
        assert!(again.journal().is_none());
        // Restarted after the file changed: a normal start.
        let (c, startup) = Changes::start(Some(j), "fixed");
        assert_eq!(startup, Startup::Normal);
        assert!(c.journal().is_none());
    }

    #[test]
    fn an_undo_journal_round_trips_and_stays_n3xnetctls() {
        let undo = Revert::Undo(UndoLog {
            netns: Some("n1".into()),
            boot_id: "b".into(),
            ops: vec![
                Op::DeleteLink {
                    name: "mv-pods".into(),
                },
                Op::SetUp {
                    name: "eth1".into(),
                },
            ],
        });
        let mut c = Changes::default();
        c.begin(change(Until::Confirmed), undo.clone());
        let j = c.journal().unwrap().clone();
        let json = serde_json::to_value(&j).unwrap();
        assert!(json["undo"]["ops"].is_array(), "{json}");
        assert_eq!(serde_json::from_value::<Journal>(json).unwrap(), j);
        // A daemon starting with it reverts it (from the journal) before
        // its own profile runs ...
        let (d, startup) = Changes::start(Some(j.clone()), "new");
        assert_eq!(startup, Startup::Normal);
        let s = d.status().unwrap();
        assert_eq!(
            (s.state, s.reason.as_deref()),
            (ChangeState::Reverting, Some("restart"))
        );
        assert!(d.may_change().is_err());
        // ... and n3xnetctl's rollback gets the undo log back.
        let mut ctl = Changes::resume(Some(j));
        assert_eq!(ctl.on(Event::Rollback), Verdict::Revert(undo));
        assert!(ctl.reverted(None));
        assert_eq!(state(&ctl), Some(ChangeState::Reverted));
        // The record of its revert is forgotten by a starting daemon.
        let (d2, _) = Changes::start(ctl.journal().cloned(), "new");
        assert!(d2.journal().is_none());
    }

    #[test]
    fn the_journal_round_trips_durably_and_refuses_other_versions() {
        let dir = tempfile::tempdir().unwrap();
        let file = JournalFile::in_dir(&dir.path().join("sub"));
        assert_eq!(file.load().unwrap(), None);
        let c = pending(Until::Reachable {
            targets: vec!["arp:192.168.1.254".into()],
        });
        file.save(c.journal()).unwrap();
        assert_eq!(file.load().unwrap().as_ref(), c.journal());
        let text = std::fs::read_to_string(&file.path).unwrap();
        std::fs::write(&file.path, text.replace("\"version\": 1", "\"version\": 9")).unwrap();
        assert!(matches!(
            file.load(),
            Err(JournalError::Invalid {
                version: Some(9),
                ..
            })
        ));
        file.save(None).unwrap();
        file.save(None).unwrap();
        assert_eq!(file.load().unwrap(), None);
    }
}
