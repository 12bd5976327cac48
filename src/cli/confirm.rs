//! Confirmed changes on a node n3xnetd does not supervise: `n3xnetctl
//! apply --confirm-within`, and `confirm`, `rollback` and `status` acting
//! on its journal.
//!
//! The way back is the executor's undo log ([`engine::apply_journalled`]):
//! computed from the snapshot before the first write and journalled
//! durably (`<state dir>/change.json`, the file n3xnetd keeps its own
//! pending change in, so one pending change refuses every other, whoever
//! makes it; `change.lock` is held while one begins, as the writer lock
//! is only the namespace's). Not the kernel snapshot nor a "previous profile": there may
//! be no profile the node ran before, and the undo log is exactly what the
//! engine trusts to roll back a failed apply (foreign addresses and routes
//! come back as the kernel held them).
//!
//! The deadline is kept by a watcher, `n3xnetctl watch-change` (hidden),
//! started detached before the first write: its own session, SIGHUP
//! ignored, no terminal, so the operator's SSH session dropping (which a
//! bad change causes) does not take it along. It sleeps until the
//! deadline or until the journal changes (inotify: `confirm` removes it,
//! `rollback` marks it reverting), and with `--confirm-when reachable`
//! runs the same rounds of checks as n3xnetd ([`crate::change::reach`]).
//! It holds `change.watch` locked (`flock`, dropped by the kernel when it
//! dies), which is how `status` tells a watched change from an orphan.
//!
//! An orphan (the watcher killed): `status` says so, `rollback` reverts
//! from the journal, `confirm` keeps it. A journal of an earlier boot is
//! stale (the kernel forgot the change with the reboot): it is dropped,
//! saying so. A revert is a transaction of its own ([`engine::revert`]);
//! one that fails is reported and the journal kept for another
//! `rollback`.

use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::fcntl::{Flock, FlockArg};

use super::{block_on, Failure};
use crate::api::status::{ChangeState, ChangeStatus, Until};
use crate::change::pending::{
    Changes, Event, Journal, JournalFile, Refusal, Revert, UndoLog, Verdict,
};
use crate::change::reach::{self, Target};
use crate::change::{boot_id, ConfirmWhen};
use crate::clock::{hms, millis, now_ms};
use crate::engine::{self, EngineError, Outcome};
use crate::exit;
use crate::netlink::Handle;
use crate::plan::Op;
use crate::service::DEFAULT_STATE_DIR;

/// The watcher's lock file in the state directory.
const WATCH_FILE: &str = "change.watch";
/// Held while a change begins (see [`Begin::journal`]).
const BEGIN_FILE: &str = "change.lock";
/// The watcher's log in the state directory (it has no terminal).
const LOG_FILE: &str = "change.log";
/// What the watcher says once it watches.
const READY: &str = "watching";
/// How long a revert waits for another writer.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// `apply`'s options for a confirmed change.
#[derive(Debug, clap::Args)]
pub struct ConfirmArgs {
    /// Make the apply a confirmed change (on a node n3xnetd does not supervise): it reverts to the
    /// exact kernel state before it unless `n3xnetctl confirm` (or --confirm-when) keeps it within
    /// DURATION (`90s`, `2min`). Its undo log is journalled on disk before the first write, and a
    /// detached watcher reverts it even if this session is gone.
    #[arg(long, value_name = "DURATION", value_parser = super::daemon::confirm_duration)]
    pub confirm_within: Option<Duration>,
    /// What keeps the change besides `n3xnetctl confirm`: `reachable` (the profile's serverApi, or
    /// a peer server's, answering TCP, and its gateway answering ARP) or `reachable=HOST:PORT`.
    #[arg(long, value_name = "WHEN", requires = "confirm_within", value_parser = ConfirmWhen::parse)]
    pub confirm_when: Option<ConfirmWhen>,
    #[command(flatten)]
    pub state: StateArgs,
}

/// Where the change journal is.
#[derive(Debug, clap::Args)]
pub struct StateArgs {
    /// The state directory holding the confirmed change's journal (n3xnetd's StateDirectory).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
}

impl StateArgs {
    pub fn journal(&self) -> JournalFile {
        JournalFile::in_dir(&self.state_dir)
    }
}

/// The journal in `file`, if any; one of an earlier boot is dropped,
/// saying so (its change went with the reboot).
pub fn load(file: &JournalFile) -> Result<Option<Journal>, Failure> {
    let found = file.load().map_err(journal_failure)?;
    if let Some(Journal {
        revert: Revert::Undo(log),
        ..
    }) = &found
    {
        if log.boot_id != boot_id().map_err(|e| io_failure("the boot id", &e))? {
            eprintln!(
                "n3xnetctl: the confirmed change in {} was made before the last reboot, which \
                 undid it in the kernel: dropping its journal",
                file.path.display()
            );
            file.save(None).map_err(journal_failure)?;
            return Ok(None);
        }
    }
    Ok(found)
}

/// `Err` (exit 80) while a confirmed change is pending: no other change.
pub fn may_change(file: &JournalFile) -> Result<(), Failure> {
    Changes::resume(load(file)?).may_change().map_err(refusal)
}

/// Whether n3xnetctl's watcher of the change in `dir` is alive: it holds
/// the watch lock for as long as it lives.
pub fn watched(dir: &Path) -> bool {
    match watch_lock(dir) {
        Ok(Ok(_free)) => false,
        Ok(Err(())) => true,
        Err(_) => false,
    }
}

/// The watch lock: `Ok(Err(()))` when another process holds it.
fn watch_lock(dir: &Path) -> std::io::Result<Result<Flock<File>, ()>> {
    lock(&dir.join(WATCH_FILE), FlockArg::LockExclusiveNonblock)
}

/// `path` locked (`flock`, dropped by the kernel with its holder):
/// `Ok(Err(()))` when another process holds it and `how` does not wait.
fn lock(path: &Path, how: FlockArg) -> std::io::Result<Result<Flock<File>, ()>> {
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    match Flock::lock(f, how) {
        Ok(l) => Ok(Ok(l)),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Ok(Err(())),
        Err((_, e)) => Err(e.into()),
    }
}

/// A confirmed change about to begin: what [`Begin::journal`] writes
/// before the apply's first write.
pub struct Begin<'a> {
    pub args: &'a ConfirmArgs,
    pub within: Duration,
    pub netns: Option<&'a str>,
    pub digest: String,
    pub targets: Vec<Target>,
}

impl Begin<'_> {
    /// The targets `--confirm-when` asks for (`defaults`: the profile's).
    pub fn targets(
        when: Option<&ConfirmWhen>,
        defaults: &[Target],
    ) -> Result<Vec<Target>, Failure> {
        match when {
            None | Some(ConfirmWhen::Confirmed) => Ok(Vec::new()),
            Some(ConfirmWhen::Reachable(explicit)) => reach::targets(defaults, explicit.as_deref())
                .map_err(|e| Failure::new(exit::USAGE, e)),
        }
    }

    /// Journals the change durably (refused while another is pending)
    /// and starts its watcher; on any failure nothing is left behind and
    /// the apply stops before its first write (`failure` says why).
    pub fn journal(&self, undo: Vec<Op>, failure: &mut Option<Failure>) -> Result<(), EngineError> {
        let file = self.args.state.journal();
        let r = self.try_journal(&file, undo);
        r.map_err(|f| {
            let e = EngineError::Journal(f.message.clone());
            *failure = Some(f);
            e
        })
    }

    fn try_journal(&self, file: &JournalFile, undo: Vec<Op>) -> Result<(), Failure> {
        // The writer lock is the namespace's, the journal the state
        // directory's: two changes in two namespaces must not both find it
        // free and write it in turn.
        let dir = &self.args.state.state_dir;
        std::fs::create_dir_all(dir).map_err(|e| io_failure("the state directory", &e))?;
        let _begin = lock(&dir.join(BEGIN_FILE), FlockArg::LockExclusive)
            .map_err(|e| io_failure("the change journal's lock", &e))?;
        let mut changes = Changes::resume(load(file)?);
        changes.may_change().map_err(refusal)?;
        let now = now_ms();
        let until = match self.targets.is_empty() {
            true => Until::Confirmed,
            false => Until::Reachable {
                targets: self.targets.iter().map(ToString::to_string).collect(),
            },
        };
        let change = ChangeStatus {
            state: ChangeState::Pending,
            until,
            started_at_ms: now,
            deadline_ms: now.saturating_add(millis(self.within)),
            change_digest: self.digest.clone(),
            // What a revert restores is the undo log, not a network.
            previous_digest: String::new(),
            reason: None,
            error: None,
            last_check: None,
        };
        let log = UndoLog {
            netns: self.netns.map(str::to_owned),
            boot_id: boot_id().map_err(|e| io_failure("the boot id", &e))?,
            ops: undo,
        };
        let journal = changes.begin(change, Revert::Undo(log));
        file.save(Some(journal)).map_err(journal_failure)?;
        if let Err(e) = spawn_watcher(dir) {
            let _ = file.save(None);
            return Err(io_failure("the change's watcher", &e));
        }
        Ok(())
    }
}

/// Starts `n3xnetctl watch-change` detached (its own session, SIGHUP
/// ignored, no terminal, its log in the state directory) and waits until
/// it watches.
fn spawn_watcher(dir: &Path) -> std::io::Result<()> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(LOG_FILE))?;
    let mut cmd = Command::new(std::env::current_exe()?);
    // Outlives this process: holds no directory but its own (by absolute
    // path), so it keeps nothing busy and a relative --state-dir still
    // names the same one.
    cmd.arg("watch-change")
        .arg("--state-dir")
        .arg(std::fs::canonicalize(dir)?)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log);
    // SAFETY: setsid and signal are async-signal-safe, as the child of a
    // fork must be until it execs.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()?;
            nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGHUP,
                nix::sys::signal::SigHandler::SigIgn,
            )?;
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        BufReader::new(out).read_line(&mut line)?;
    }
    if line.trim() != READY {
        let _ = child.kill();
        let _ = child.wait();
        return Err(std::io::Error::other(format!(
            "it did not start (see {})",
            dir.join(LOG_FILE).display()
        )));
    }
    Ok(())
}

/// A confirmed apply ended: a failed one was rolled back by the engine,
/// so there is nothing to confirm (the journal goes, and with it the
/// watcher); an applied one says how it ends (on stderr beside `--json`),
/// and one that found the kernel in sync began nothing.
pub fn applied(a: &ConfirmArgs, outcome: Outcome, json: bool) -> Result<(), Failure> {
    let file = a.state.journal();
    if !outcome.converged() {
        return file.save(None).map_err(journal_failure);
    }
    let line = match load(&file)?.map(|j| j.change) {
        _ if outcome == Outcome::InSync => "nothing changed: no confirmed change began".to_owned(),
        None => "the change was decided already (see `n3xnetctl status`)".to_owned(),
        Some(c) => format!(
            "confirmed change: it reverts at {} UTC unless {}",
            hms(c.deadline_ms),
            match c.until {
                Until::Confirmed => "`n3xnetctl confirm` keeps it".to_owned(),
                Until::Reachable { targets } => format!(
                    "{} answer or `n3xnetctl confirm` keeps it",
                    targets.join(" and ")
                ),
            }
        ),
    };
    if json {
        eprintln!("n3xnetctl apply: {line}");
    } else {
        println!("{line}");
    }
    Ok(())
}

/// `confirm` and `rollback` of n3xnetctl's change; `None` when the journal
/// holds none (n3xnetd's, or nothing: its D-Bus methods answer).
pub fn decide(a: &StateArgs, event: Event) -> Result<Option<u8>, Failure> {
    let file = a.journal();
    let found = load(&file)?;
    let Some(Revert::Undo(log)) = found.as_ref().map(|j| j.revert.clone()) else {
        return Ok(None);
    };
    if event != Event::Confirm {
        println!("{}", block_on(revert(&file, &log, event))??);
        return Ok(Some(exit::OK));
    }
    let mut changes = Changes::resume(found);
    match changes.on(event) {
        Verdict::Refuse(r) => Err(refusal(r)),
        // A confirm keeps, or is refused.
        _ => {
            file.save(changes.journal()).map_err(journal_failure)?;
            println!("the change is kept");
            Ok(Some(exit::OK))
        }
    }
}

/// Reverts the change of `log` on `event` (rollback, deadline,
/// unreachable), holding the namespace's writer lock; the journal is
/// read again under it, so a change confirmed meanwhile stays.
/// Says what it did.
async fn revert(file: &JournalFile, log: &UndoLog, event: Event) -> Result<String, Failure> {
    let handle = Handle::open(log.netns.as_deref())?;
    let lock = engine::lock::acquire(handle.netns(), Some(LOCK_WAIT))
        .await
        .map_err(EngineError::from)?;
    let mut changes = Changes::resume(load(file)?);
    let undo = match changes.on(event) {
        Verdict::Revert(Revert::Undo(log)) => log.ops,
        Verdict::Revert(Revert::PreviousProfile(_)) | Verdict::Keep => {
            return Err(Failure::new(
                exit::NOTHING_PENDING,
                "the change is n3xnetd's now: ask it (`n3xnetctl rollback` with n3xnetd running)",
            ))
        }
        Verdict::Refuse(r) => return Err(refusal(r)),
    };
    file.save(changes.journal()).map_err(journal_failure)?;
    let reason = changes
        .status()
        .and_then(|c| c.reason.clone())
        .unwrap_or_default();
    eprintln!(
        "n3xnetctl: reverting the change ({reason}): {} undo op(s)",
        undo.len()
    );
    let error = match engine::revert(&handle, &undo, &lock).await {
        Ok(r) if r.outcome.converged() => None,
        Ok(r) => Some(r.summary()),
        Err(e) => Some(e.to_string()),
    };
    changes.reverted(error.as_deref());
    file.save(changes.journal()).map_err(journal_failure)?;
    match error {
        None => Ok(format!(
            "the change is reverted ({reason}): the kernel is as before it"
        )),
        Some(e) => Err(Failure::new(
            exit::DRIFT_OR_FAILED,
            format!("REVERT FAILED ({reason}): {e}; the journal is kept: `n3xnetctl rollback` tries again"),
        )),
    }
}

/// `watch-change`'s options (hidden: `apply --confirm-within` starts it).
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub state: StateArgs,
}

/// The watcher: until the change is decided, wait for its deadline, for
/// the journal to change (confirm, rollback), and for the network to
/// answer (`--confirm-when reachable`); revert at the deadline.
pub fn watch(a: &WatchArgs) -> Result<u8, Failure> {
    let dir = &a.state.state_dir;
    let _lock = match watch_lock(dir).map_err(|e| io_failure("the watch lock", &e))? {
        Ok(l) => l,
        Err(()) => {
            return Err(Failure::new(
                exit::BUSY,
                "another watcher watches the change",
            ))
        }
    };
    block_on(watch_journal(&a.state.journal(), dir))?
}

async fn watch_journal(file: &JournalFile, dir: &Path) -> Result<u8, Failure> {
    let mut changes = crate::files::DirChanges::new().map_err(|e| io_failure("inotify", &e))?;
    changes.arm(dir).map_err(|e| io_failure("inotify", &e))?;
    println!("{READY}");
    // No one reads any more: the operator's session may be gone.
    if let Ok(null) = File::open("/dev/null") {
        let _ = nix::unistd::dup2_stdout(null);
    }
    let mut failed = 0u32;
    let mut round: Option<reach::Round> = None;
    let mut next_round = Some(tokio::time::Instant::now());
    loop {
        changes.arm(dir).map_err(|e| io_failure("inotify", &e))?;
        let Some(j) = load(file)?.filter(|j| j.change.state == ChangeState::Pending) else {
            note("the change is decided: done");
            return Ok(exit::OK);
        };
        let Revert::Undo(log) = &j.revert else {
            return Ok(exit::OK);
        };
        let left = Duration::from_millis(j.change.deadline_ms.saturating_sub(now_ms()));
        let targets: Vec<Target> = match &j.change.until {
            Until::Confirmed => Vec::new(),
            Until::Reachable { targets } => targets
                .iter()
                .map(|t| t.parse())
                .collect::<Result<_, String>>()
                .map_err(|e| Failure::new(exit::SOFTWARE, e))?,
        };
        if round.is_none()
            && !targets.is_empty()
            && next_round.is_some_and(|t| t <= tokio::time::Instant::now())
        {
            let handle = Handle::open(log.netns.as_deref())?;
            round = Some(reach::round(&handle, &targets).await);
            next_round = None;
        }
        let wake = next_round.map_or(left, |t| {
            t.saturating_duration_since(tokio::time::Instant::now())
                .min(left)
        });
        tokio::select! {
            r = changes.changed() => r.map_err(|e| io_failure("inotify", &e))?,
            () = tokio::time::sleep(wake) => {
                if now_ms() >= j.change.deadline_ms {
                    note("the deadline passed: reverting");
                    let done = revert(file, log, Event::Deadline).await?;
                    note(&done);
                    return Ok(exit::OK);
                }
            }
            r = reach::checked(&mut round) => match r {
                Ok(()) => {
                    note("reachable: every check answered");
                    // Read again: a rollback may have begun meanwhile.
                    let mut c = Changes::resume(load(file)?);
                    if c.on(Event::Reachable) == Verdict::Keep {
                        file.save(c.journal()).map_err(journal_failure)?;
                        note("the change is kept");
                    }
                    return Ok(exit::OK);
                }
                // Logged, not journalled: a write here could bring back a
                // journal that `confirm` just removed.
                Err(e) => {
                    note(&format!("reachability check failed: {e}; checking again"));
                    next_round = Some(tokio::time::Instant::now() + reach::retry_after(failed));
                    failed = failed.saturating_add(1);
                }
            },
        }
    }
}

/// The change for `status`: n3xnetctl's, and whether its watcher lives.
pub fn status(a: &StateArgs) -> Option<(ChangeStatus, bool)> {
    let j = load(&a.journal()).ok()??;
    matches!(j.revert, Revert::Undo(_)).then(|| (j.change, watched(&a.state_dir)))
}

/// A line of the watcher's log (its stderr), with the time.
fn note(line: &str) {
    eprintln!("{} UTC watch-change: {line}", hms(now_ms()));
}

fn refusal(r: Refusal) -> Failure {
    let code = match r {
        Refusal::Pending(_) => exit::CHANGE_PENDING,
        Refusal::NotPending(_) => exit::NOTHING_PENDING,
    };
    Failure::new(code, r.to_string())
}

fn journal_failure(e: crate::change::pending::JournalError) -> Failure {
    Failure::new(exit::IO, e.to_string())
}

fn io_failure(what: &str, e: &std::io::Error) -> Failure {
    Failure::new(exit::IO, format!("{what}: {e}"))
}
