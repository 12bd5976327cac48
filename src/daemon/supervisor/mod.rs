//! The supervisor's event loop.
//!
//! One task on a current-thread runtime waits on: kernel notifications
//! (links, addresses and routes of both families), commands (reload, reconcile,
//! confirm, rollback), SIGTERM/SIGINT, and timers that exist only when
//! needed (the watchdog ping, a backed-off repair, the online timeout, a
//! confirmed change's deadline and its next reachability round, see
//! [`confirm`]). Nothing polls the kernel: at idle the process sleeps in
//! `epoll_wait`.
//!
//! On every burst of notifications it re-dumps the kernel (an event says
//! *that* something changed; the dump says *what*, and stays right when
//! events were lost to `ENOBUFS`), recomputes the health, and plans. What
//! to do about the plan is decided by the pure repair policy
//! ([`super::repair`]: in sync, report, wait out a backoff, or repair
//! through the engine's transactional apply); the `STATUS=` line is made
//! by [`super::status_line`]. This file keeps the loop and the I/O.
//!
//! Every apply first tries the namespace's writer lock
//! ([`crate::engine::lock`]) without waiting. When another writer (an
//! operator's `n3xnetctl apply`) holds it, the loop does not block: one
//! more future, the wait for the release, joins its `select!`, and the
//! status says whom it waits for. Once the lock is ours, the deferred apply
//! runs with it, against a fresh dump. The
//! planner never touches foreign links, addresses or routes, so neither
//! does a repair.

mod confirm;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{signal, Signal, SignalKind};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, MissedTickBehavior};

use crate::api::status::{ApplySummary, DaemonStatus, Phase, Trigger, STATUS_SCHEMA_VERSION};
use crate::clock::{at, millis, now_ms};
use crate::engine::{self, ApplyOptions, ApplyReport, EngineError, LockError, WriterLock};
use crate::files::{write_atomic, Durability};
use crate::health::Health;
use crate::netlink::{Burst, Events, Handle, NetlinkError};
use crate::plan::{self, Op};
use crate::state::KernelState;

use super::backoff::RepairSchedule;
use super::health_log::log_changes;
use super::repair::{Decision, Repairs};
use super::setup::Setup;
use super::status_line::{status_line, Notes};
use crate::change::pending::{Changes, Event, JournalFile, Refusal};
use crate::change::reach::checked;
use crate::change::reach::{Round, Target};
use crate::service::Notifier;
use confirm::start_changes;

/// Why a command was not carried out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    /// The supervisor has stopped (or is stopping): nobody will answer.
    #[error("n3xnetd is stopping")]
    Stopped,
    /// The configuration or the profile is invalid: every problem, one per
    /// line; the running profile is kept.
    #[error("{0}")]
    Invalid(String),
    /// Not now (paused by an operator).
    #[error("{0}")]
    Refused(String),
    /// The apply failed (and was rolled back).
    #[error("{0}")]
    Failed(String),
    /// A confirmed change is pending (or its revert unfinished): no other
    /// change until it is confirmed or rolled back.
    #[error("{0}")]
    Pending(String),
    /// `confirm` or `rollback` with no confirmed change pending.
    #[error("{0}")]
    NotPending(String),
}

impl From<Refusal> for ControlError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::Pending(m) => ControlError::Pending(m),
            Refusal::NotPending(m) => ControlError::NotPending(m),
        }
    }
}

pub use crate::change::ConfirmWhen;

/// The answer to a command.
pub type Reply = oneshot::Sender<Result<(), ControlError>>;

/// What a front end (SIGHUP, D-Bus) asks of the supervisor.
#[derive(Debug)]
pub enum ControlRequest {
    /// Re-read the configuration and profile; apply a valid one as a
    /// minimal diff, keep running the old one otherwise.
    Reload(Option<Reply>),
    /// Apply the profile now, whatever the drift policy and backoff say
    /// (refused while paused: resuming reconciles).
    Reconcile(Option<Reply>),
    /// Stop repairing until [`ControlRequest::Resume`], so an operator can take
    /// over: drift is still reported; a reload is checked, not applied.
    Pause(Option<Reply>),
    /// Repair again, starting with a reconcile now (also when not paused).
    Resume(Option<Reply>),
    /// A reload whose change reverts unless kept within `within`
    /// ([`super::pending`]).
    ReloadConfirmed {
        within: Duration,
        when: ConfirmWhen,
        reply: Option<Reply>,
    },
    /// Keep the pending change.
    Confirm(Option<Reply>),
    /// Revert the pending change now.
    Rollback(Option<Reply>),
}

/// A front end's handle on a running supervisor: send commands, watch the
/// status. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Control {
    commands: mpsc::UnboundedSender<ControlRequest>,
    status: watch::Receiver<Arc<DaemonStatus>>,
}

impl Control {
    /// The status, updated on every change (health, drift, applies).
    pub fn status(&self) -> watch::Receiver<Arc<DaemonStatus>> {
        self.status.clone()
    }

    pub async fn reload(&self) -> Result<(), ControlError> {
        self.ask(ControlRequest::Reload).await
    }

    pub async fn reconcile(&self) -> Result<(), ControlError> {
        self.ask(ControlRequest::Reconcile).await
    }

    pub async fn pause(&self) -> Result<(), ControlError> {
        self.ask(ControlRequest::Pause).await
    }

    pub async fn resume(&self) -> Result<(), ControlError> {
        self.ask(ControlRequest::Resume).await
    }

    pub async fn reload_confirmed(
        &self,
        within: Duration,
        when: ConfirmWhen,
    ) -> Result<(), ControlError> {
        self.ask(|reply| ControlRequest::ReloadConfirmed {
            within,
            when,
            reply,
        })
        .await
    }

    pub async fn confirm(&self) -> Result<(), ControlError> {
        self.ask(ControlRequest::Confirm).await
    }

    pub async fn rollback(&self) -> Result<(), ControlError> {
        self.ask(ControlRequest::Rollback).await
    }

    async fn ask(
        &self,
        command: impl FnOnce(Option<Reply>) -> ControlRequest,
    ) -> Result<(), ControlError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(command(Some(tx)))
            .map_err(|_| ControlError::Stopped)?;
        rx.await.map_err(|_| ControlError::Stopped)?
    }
}

/// Why the supervisor stopped other than by a signal.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
    #[error("cannot install the {0} handler: {1}")]
    Signal(&'static str, #[source] std::io::Error),
}

/// The wait for another writer's release of the namespace's lock.
type LockWait = Pin<Box<dyn Future<Output = Result<WriterLock, LockError>>>>;

pub struct Supervisor {
    core: Core,
    events: Events,
    commands: mpsc::UnboundedReceiver<ControlRequest>,
}

/// Everything the loop's handlers change (apart from the event and command
/// streams, which the loop borrows while waiting).
struct Core {
    handle: Handle,
    setup: Setup,
    notifier: Notifier,
    repairs: Repairs,
    status_tx: watch::Sender<Arc<DaemonStatus>>,
    /// `status.json`, rewritten by [`Core::publish`].
    status_file: Option<PathBuf>,
    health: Option<Health>,
    phase: Phase,
    ready: bool,
    online_deadline: Option<Instant>,
    /// A kernel read failed (a dump interrupted by changes over and over,
    /// as a flood of foreign events does): read again then, since the
    /// events it was to cover are gone.
    reread_at: Option<Instant>,
    /// The wait before the next re-read: doubles while reads keep failing.
    reread_after: Duration,
    writes: u64,
    last_apply: Option<ApplySummary>,
    reload_error: Option<String>,
    /// The DHCP clients' leases (see [`super::dhcp_driver`]).
    dhcp: super::dhcp_driver::Leases,
    /// Waiting for another writer to release the namespace, if one holds it.
    lock_wait: Option<LockWait>,
    /// The desired network's digest, for `status.json` (computed once per
    /// profile, not per publish).
    desired_digest: String,
    /// A confirmed change, and its journal.
    changes: Changes,
    journal: JournalFile,
    /// Why the journal found at start could not be read (it is left as
    /// it is, and no confirmed change is taken until it is dealt with).
    journal_error: Option<String>,
    /// When the pending change reverts.
    change_deadline: Option<Instant>,
    /// What keeps it (`--confirm-when reachable`), the round of checks
    /// under way or the time of the next, and how many rounds failed.
    reach: Vec<Target>,
    round: Option<Round>,
    next_round: Option<Instant>,
    failed_rounds: u32,
}

impl Supervisor {
    /// Opens the netlink connection (in `netns` if given) and subscribes to
    /// kernel events before anything is read, so no change is missed.
    /// `status_file` is rewritten on every change of the status, before
    /// anyone else hears of it (see [`Core::publish`]). A confirmed
    /// change's journal lives in `state_dir`; one found there decides the
    /// profile the daemon starts with ([`Changes::start`]).
    pub fn start(
        setup: Setup,
        netns: Option<&str>,
        notifier: Notifier,
        status_file: Option<PathBuf>,
        state_dir: &Path,
    ) -> Result<(Supervisor, Control), NetlinkError> {
        let journal = JournalFile::in_dir(state_dir);
        let (changes, setup, journal_error) = start_changes(&journal, setup);
        let handle = Handle::open(netns)?;
        let events = handle.events()?;
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let online_deadline = setup.config.online.timeout.map(|t| Instant::now() + t);
        let dhcp = super::dhcp_driver::start(&setup.desired, netns);
        let mut core = Core {
            handle,
            dhcp,
            setup,
            notifier,
            repairs: Repairs::new(RepairSchedule::default()),
            status_tx: watch::Sender::new(Arc::new(placeholder())),
            status_file,
            health: None,
            phase: Phase::Starting,
            ready: false,
            online_deadline,
            reread_at: None,
            reread_after: REREAD_FIRST,
            writes: 0,
            last_apply: None,
            reload_error: None,
            lock_wait: None,
            desired_digest: String::new(),
            changes,
            journal,
            journal_error,
            change_deadline: None,
            reach: Vec::new(),
            round: None,
            next_round: None,
            failed_rounds: 0,
        };
        core.desired_digest = core.setup.desired.digest();
        core.publish();
        let control = Control {
            commands: commands_tx,
            status: core.status_tx.subscribe(),
        };
        Ok((
            Supervisor {
                core,
                events,
                commands,
            },
            control,
        ))
    }

    /// Applies the profile, then supervises until SIGTERM or SIGINT, which
    /// end it with `Ok` and the network left exactly as it is.
    ///
    /// The future is not `Send` (rustc cannot prove the engine's apply,
    /// written against async methods of its `Kernel` trait, `Send` for every
    /// lifetime of the handle): make it the runtime's main future, as
    /// [`super::run`] does, and spawn front ends (which only need their
    /// [`Control`]) as tasks beside it.
    pub async fn run(self) -> Result<(), RunError> {
        let Supervisor {
            mut core,
            mut events,
            mut commands,
        } = self;
        let mut term =
            signal(SignalKind::terminate()).map_err(|e| RunError::Signal("SIGTERM", e))?;
        let mut int = signal(SignalKind::interrupt()).map_err(|e| RunError::Signal("SIGINT", e))?;
        let mut watchdog = core.notifier.watchdog_interval().map(|period| {
            let mut i = tokio::time::interval(period);
            i.set_missed_tick_behavior(MissedTickBehavior::Delay);
            i
        });
        tracing::info!(
            node = %core.setup.desired.node,
            profile = %core.setup.config.profile.display(),
            netns = core.handle.netns(),
            drift = core.setup.config.drift.as_str(),
            watchdog_ms = watchdog.as_ref().map(|i| millis(i.period())),
            "n3xnetd starting"
        );
        core.sync_cni_configs();
        core.revert_ctl_change().await;
        match core.apply(Trigger::Start, None).await {
            // Without CAP_NET_ADMIN nothing will ever work: say so and stop.
            Err(EngineError::Netlink(e @ NetlinkError::NoCapNetAdmin)) => return Err(e.into()),
            _ => core.refresh(&mut events, None).await,
        }
        loop {
            let backoff = core.repairs.backoff_until().map(Instant::from_std);
            let online = core.online_deadline.filter(|_| !core.ready);
            let reread = core.reread_at;
            let deadline = core.change_deadline;
            let next_round = core.next_round;
            tokio::select! {
                biased;
                _ = term.recv() => break,
                _ = int.recv() => break,
                Some(cmd) = commands.recv() => core.command(&mut events, cmd).await,
                _ = tick(watchdog.as_mut()) => core.notifier.watchdog(),
                burst = events.next_burst() => match burst {
                    Some(b) => core.refresh(&mut events, Some(b)).await,
                    None => {
                        return Err(NetlinkError::ConnectionClosed(
                            "waiting for kernel events".to_owned(),
                        )
                        .into())
                    }
                },
                _ = at(backoff) => {
                    core.repairs.backoff_expired();
                    core.refresh(&mut events, None).await;
                }
                _ = at(online) => core.online_timeout(),
                _ = at(reread) => core.refresh(&mut events, None).await,
                _ = at(deadline) => {
                    let _ = core.change_event(&mut events, Event::Deadline).await;
                }
                _ = at(next_round) => core.start_round().await,
                r = checked(&mut core.round) => core.round_done(&mut events, r).await,
                lock = released(&mut core.lock_wait) => core.writer_released(&mut events, lock).await,
                Ok(()) = core.dhcp.changed() => core.publish(),
            }
        }
        core.stop();
        Ok(())
    }
}

/// Forwards SIGHUP to the supervisor as [`ControlRequest::Reload`]. Installed
/// before anything else runs: SIGHUP's default action would kill us.
pub fn forward_hangups(
    control: Control,
) -> Result<impl std::future::Future<Output = ()>, RunError> {
    let mut hup: Signal =
        signal(SignalKind::hangup()).map_err(|e| RunError::Signal("SIGHUP", e))?;
    Ok(async move {
        while hup.recv().await.is_some() {
            tracing::info!("SIGHUP: reloading");
            // The supervisor logs the outcome itself.
            let _ = control.reload().await;
        }
    })
}

/// The first wait before reading the kernel again after a failed read,
/// and the longest (a read that keeps failing is retried less and less
/// often, never polled).
const REREAD_FIRST: Duration = Duration::from_millis(200);
const REREAD_MAX: Duration = Duration::from_secs(30);

/// Notifications in one burst past which the memory they took is handed
/// back to the kernel.
const LARGE_BURST: u32 = 1000;

/// Returns heap memory freed after a flood of notifications to the kernel:
/// glibc keeps it otherwise, and the idle RSS would stay at the flood's
/// peak (a 16 MiB socket buffer's worth of parsed messages).
fn release_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free heap pages; it has no
    // preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

async fn tick(interval: Option<&mut tokio::time::Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Resolves when the awaited writer lock is ours (or waiting failed);
/// never while none is awaited.
async fn released(wait: &mut Option<LockWait>) -> Result<WriterLock, LockError> {
    let Some(w) = wait.as_mut() else {
        return std::future::pending().await;
    };
    let lock = w.await;
    *wait = None;
    lock
}

/// The bond an op is about, for the `bond` log field.
fn op_bond(op: &Op) -> Option<&str> {
    match op {
        Op::SetBondOptions { bond, .. } | Op::SetMaster { bond, .. } => Some(bond),
        Op::CreateLink {
            name,
            kind: crate::desired::LinkKind::Bond(_),
            ..
        } => Some(name),
        _ => None,
    }
}

fn micros(since: Option<Instant>) -> Option<u64> {
    since.map(|t| u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX))
}

impl Core {
    async fn command(&mut self, events: &mut Events, cmd: ControlRequest) {
        let (result, reply) = match cmd {
            ControlRequest::Reload(reply) => (self.reload(events, None).await, reply),
            ControlRequest::ReloadConfirmed {
                within,
                when,
                reply,
            } => (self.reload(events, Some((within, when))).await, reply),
            ControlRequest::Confirm(reply) => {
                (self.change_event(events, Event::Confirm).await, reply)
            }
            ControlRequest::Rollback(reply) => {
                (self.change_event(events, Event::Rollback).await, reply)
            }
            ControlRequest::Reconcile(reply) if self.repairs.paused() => (
                Err(ControlError::Refused(
                    "paused by operator: resume reconciles (n3xnetctl resume)".to_owned(),
                )),
                reply,
            ),
            ControlRequest::Reconcile(reply) => {
                tracing::info!("reconcile requested");
                (self.reconcile_now(events, Trigger::Reconcile).await, reply)
            }
            ControlRequest::Pause(reply) => {
                if self.repairs.pause() {
                    tracing::warn!("paused by operator: drift is reported, not repaired");
                    self.publish();
                }
                (Ok(()), reply)
            }
            // Not paused: reconciles all the same, so that after `resume`
            // the profile holds whatever state the daemon was in.
            ControlRequest::Resume(reply) => {
                tracing::info!(
                    paused = self.repairs.paused(),
                    "resumed by operator: reconciling"
                );
                self.repairs.resume();
                (self.reconcile_now(events, Trigger::Resume).await, reply)
            }
        };
        if let Some(reply) = reply {
            let _ = reply.send(result);
        }
    }

    /// Applies the profile now, backoff forgotten, then re-reads the kernel.
    async fn reconcile_now(
        &mut self,
        events: &mut Events,
        trigger: Trigger,
    ) -> Result<(), ControlError> {
        self.repairs.forgive();
        let r = self.apply(trigger, None).await;
        self.refresh(events, None).await;
        match self.outcome(r) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ControlError::Refused(format!(
                "{} holds the namespace's writer lock: n3xnetd applies the profile once it is \
                 released",
                self.repairs
                    .drift()
                    .writer
                    .as_deref()
                    .unwrap_or("another writer")
            ))),
            Err(e) => Err(ControlError::Failed(e)),
        }
    }

    /// What became of an apply just made ([`Core::apply`]'s result):
    /// `Ok(true)` applied, `Ok(false)` deferred until another writer is
    /// done, `Err` why it failed. A rolled-back apply is recorded, not an
    /// error of `apply`, but whoever asked did not get the profile.
    fn outcome(&self, r: Result<bool, EngineError>) -> Result<bool, String> {
        r.map_err(|e| e.to_string())?;
        if self.repairs.drift().writer.is_some() {
            return Ok(false);
        }
        match self.last_apply.as_ref().and_then(|a| a.error.clone()) {
            Some(e) => Err(e),
            None => Ok(true),
        }
    }

    /// Re-reads everything from the kernel and acts on it. At most two
    /// passes: the second sees the result of a repair made by the first.
    async fn refresh(&mut self, events: &mut Events, burst: Option<Burst>) {
        if let Some(b) = burst {
            if b.overrun {
                tracing::warn!(
                    "kernel event overrun (ENOBUFS): events were lost; re-reading the kernel"
                );
            }
            tracing::debug!(
                links = b.links,
                addresses = b.addresses,
                routes = b.routes,
                "kernel events"
            );
        }
        let mut since = burst.map(|b| Instant::from_std(b.at));
        for _ in 0..2 {
            // Everything queued so far is covered by this dump.
            events.discard();
            let state = match self.handle.dump().await {
                Ok(s) => {
                    self.reread_at = None;
                    self.reread_after = REREAD_FIRST;
                    s
                }
                Err(e) => {
                    // Said once per episode; the retries are quiet.
                    if self.reread_at.is_none() {
                        tracing::warn!("cannot read the kernel state: {e}; reading again soon");
                    }
                    self.reread_at = Some(Instant::now() + self.reread_after);
                    self.reread_after = (self.reread_after * 2).min(REREAD_MAX);
                    break;
                }
            };
            self.observe(&state, since);
            if !self.reconcile(&state, since).await {
                break;
            }
            since = None;
        }
        if burst.is_some_and(|b| b.overrun || b.total() > LARGE_BURST) {
            release_memory();
        }
        // After the drift is known too, so READY's STATUS= is current.
        if !self.ready && self.health.as_ref().is_some_and(|h| h.online) {
            self.become_ready();
        }
        self.publish();
    }

    /// Recomputes the health; logs what changed.
    fn observe(&mut self, state: &KernelState, since: Option<Instant>) {
        let config = &self.setup.config;
        let health = Health::compute(
            &self.setup.desired,
            state,
            self.health.as_ref(),
            &config.online.require,
        );
        if self.health.as_ref() != Some(&health) {
            log_changes(self.health.as_ref(), &health, micros(since));
            self.health = Some(health);
        }
    }

    /// Plans; repairs drift when the policy and the backoff allow
    /// ([`Repairs::decide`]). Returns whether anything was written.
    async fn reconcile(&mut self, state: &KernelState, since: Option<Instant>) -> bool {
        let plan = plan::plan(&self.setup.desired, state).map_err(|e| e.to_string());
        let ops = plan
            .as_ref()
            .map(|p| p.ops.as_slice())
            .map_err(Clone::clone);
        let now = Instant::now();
        let decision = self
            .repairs
            .decide(ops, self.setup.config.drift, now.into_std());
        match decision {
            Decision::InSync { settled } => {
                if settled {
                    tracing::info!("in sync with the profile");
                }
                false
            }
            Decision::Conflict { new } => {
                if let (true, Some(c)) = (new, &self.repairs.drift().conflict) {
                    tracing::error!("the profile cannot be applied to this kernel: {c}");
                }
                false
            }
            Decision::Report { new, paused } => {
                let why = if paused {
                    "drift (paused by operator: not repaired)"
                } else {
                    "drift (report mode: not repaired)"
                };
                for op in plan.iter().flat_map(|p| &p.ops).filter(|_| new) {
                    tracing::warn!(op = %op, link = op.link(), bond = op_bond(op), "{why}");
                }
                false
            }
            Decision::Wait { until, streak, new } => {
                if new {
                    let wait = Instant::from_std(until).saturating_duration_since(now);
                    tracing::warn!(
                        streak,
                        wait_ms = millis(wait),
                        "the same drift came back after {streak} repairs in a row: next repair in {:.1} s",
                        wait.as_secs_f64()
                    );
                }
                false
            }
            Decision::Repair(trigger) => {
                let what = match trigger {
                    Trigger::Start => "applying the profile",
                    _ => "drift: repairing",
                };
                for op in plan.iter().flat_map(|p| &p.ops) {
                    tracing::info!(op = %op, link = op.link(), bond = op_bond(op), "{what}");
                }
                // A failed apply was rolled back (or logged): the next
                // event re-plans, under the same backoff.
                self.apply(trigger, since).await.unwrap_or(false)
            }
            // Announced when the wait began ([`Core::await_writer`]).
            Decision::AwaitWriter => false,
        }
    }

    /// One transactional apply of the desired network, if the writer lock
    /// is free; if another writer holds it, the apply is deferred until the
    /// release ([`Core::await_writer`]) and this returns `Ok(false)`.
    /// `Ok(wrote)`, also when it failed and was rolled back (that is logged
    /// and recorded); errors that stop it before any change are returned
    /// (after being logged and recorded) so the start can stop on fatal ones.
    async fn apply(
        &mut self,
        trigger: Trigger,
        since: Option<Instant>,
    ) -> Result<bool, EngineError> {
        match engine::lock::acquire(self.handle.netns(), Some(Duration::ZERO)).await {
            Err(LockError::Busy { holder, .. }) => {
                self.await_writer(holder.to_string(), trigger);
                Ok(false)
            }
            lock => self.apply_with(trigger, since, lock).await,
        }
    }

    /// Starts waiting for the writer that holds the lock, beside the loop
    /// (unless a wait already runs).
    fn await_writer(&mut self, holder: String, trigger: Trigger) {
        tracing::warn!(
            trigger = trigger.as_str(),
            "another writer holds the namespace: {holder}; {} once it is done",
            trigger.as_str()
        );
        if self.repairs.writer_busy(holder, trigger) {
            let netns = self.handle.netns().map(str::to_owned);
            self.lock_wait = Some(Box::pin(async move {
                engine::lock::acquire(netns.as_deref(), None).await
            }));
        }
    }

    /// The awaited writer lock is ours: the deferred apply runs with it
    /// (if the policy still wants it), then the kernel is read again.
    async fn writer_released(&mut self, events: &mut Events, lock: Result<WriterLock, LockError>) {
        if let Some(trigger) = self.repairs.writer_released() {
            tracing::info!(
                trigger = trigger.as_str(),
                "the other writer is done: {}",
                trigger.as_str()
            );
            let _ = self.apply_with(trigger, None, lock).await;
        }
        self.refresh(events, None).await;
    }

    /// [`Core::apply`] once the lock is settled: held, or why not.
    async fn apply_with(
        &mut self,
        trigger: Trigger,
        since: Option<Instant>,
        lock: Result<WriterLock, LockError>,
    ) -> Result<bool, EngineError> {
        let trigger_name = trigger.as_str();
        let opts = ApplyOptions::default();
        let result = match lock {
            Ok(lock) => engine::apply(&self.handle, &self.setup.desired, &opts, &lock).await,
            Err(e) => Err(e.into()),
        };
        let (summary, outcome) = match result {
            Ok(r) if r.outcome.converged() => {
                self.repairs.applied();
                self.writes += r.writes;
                for op in &r.applied {
                    tracing::info!(op = %op, link = op.link(), bond = op_bond(op), trigger = %trigger_name, "applied");
                }
                tracing::info!(
                    trigger = %trigger_name,
                    outcome = ?r.outcome,
                    writes = r.writes,
                    ops = r.applied.len(),
                    since_event_us = micros(since),
                    "{}: {}",
                    trigger_name,
                    r.summary()
                );
                let wrote = r.writes > 0;
                (summary(trigger, &r, None), Ok(wrote))
            }
            Ok(r) => {
                self.writes += r.writes + r.rollback_writes;
                let op = r.failure.as_ref().and_then(|f| f.op.clone());
                tracing::error!(trigger = %trigger_name, op, writes = r.writes, "{trigger_name} failed: {}", r.summary());
                (summary(trigger, &r, Some(r.summary())), Ok(true))
            }
            Err(e) => {
                tracing::error!(trigger = %trigger_name, "{trigger_name} failed: {e}");
                let s = ApplySummary {
                    trigger,
                    outcome: None,
                    writes: 0,
                    ops: Vec::new(),
                    total_ms: 0.0,
                    error: Some(e.to_string()),
                    at_ms: now_ms(),
                };
                (s, Err(e))
            }
        };
        let error = summary.error.clone();
        self.last_apply = Some(summary);
        self.change_applied(error.as_deref());
        outcome
    }

    /// Writes the node's Multus CNI config files into `multus.confDir`,
    /// those whose content changed only. A failure is logged, not fatal:
    /// the network itself does not depend on the file.
    fn sync_cni_configs(&self) {
        let Some(dir) = &self.setup.config.multus.conf_dir else {
            return;
        };
        match crate::render::write_dir(dir, &self.setup.cni_configs) {
            Ok(0) => {}
            Ok(written) => {
                tracing::info!(dir = %dir.display(), written, "multus: wrote CNI configs")
            }
            Err(e) => tracing::error!("multus: {e}"),
        }
    }

    /// A reload; with `confirm`, a confirmed change ([`super::pending`]):
    /// journalled before its first write, reverted unless kept in time.
    async fn reload(
        &mut self,
        events: &mut Events,
        confirm: Option<(Duration, ConfirmWhen)>,
    ) -> Result<(), ControlError> {
        if confirm.is_some() {
            self.may_change()?;
        }
        let was_ready = self.ready;
        if was_ready {
            self.notifier.reloading();
        }
        self.phase = Phase::Reloading;
        self.publish();
        let result = match Setup::load(&self.setup.config_path) {
            Err(e) => {
                tracing::error!("reload failed, still running the previous profile:");
                for line in e.to_string().lines() {
                    tracing::error!("{line}");
                }
                self.reload_error = Some(e.headline());
                Err(ControlError::Invalid(e.to_string()))
            }
            Ok(new) => self.switch(new, confirm).await,
        };
        self.phase = if self.ready {
            Phase::Running
        } else {
            Phase::Starting
        };
        self.refresh(events, None).await;
        if was_ready {
            // Ends the reload for systemd.
            let line = self.status_line();
            self.notifier.ready(&line);
        }
        result
    }

    fn online_timeout(&mut self) {
        let blocking: Vec<String> = self
            .health
            .iter()
            .flat_map(Health::blocking)
            .map(|n| format!("{} {}", n.name, n.reason.as_deref().unwrap_or("down")))
            .collect();
        tracing::warn!(
            "not online within online.timeout ({}): reporting the service as started anyway",
            if blocking.is_empty() {
                "the kernel state is unknown".to_owned()
            } else {
                blocking.join(", ")
            }
        );
        self.become_ready();
        self.publish();
    }

    /// READY=1 goes out after the status that says so is published (see
    /// [`Core::publish`]).
    fn become_ready(&mut self) {
        self.ready = true;
        self.phase = Phase::Running;
        self.publish();
        let line = self.status_line();
        tracing::info!(status = %line, "ready");
        self.notifier.ready(&line);
    }

    /// The `STATUS=` line ([`status_line`]).
    fn status_line(&self) -> String {
        let mut others: Vec<String> = self
            .changes
            .status_note()
            .into_iter()
            .chain(self.journal_error.clone())
            .collect();
        others.extend(super::dhcp_driver::status_notes(&self.dhcp.borrow()));
        let notes = Notes {
            apply_error: self.last_apply.as_ref().and_then(|a| a.error.as_deref()),
            others,
            reload_error: self.reload_error.as_deref(),
        };
        status_line(
            self.health.as_ref(),
            &self.repairs,
            self.setup.config.drift,
            notes,
        )
    }

    fn snapshot(&self) -> DaemonStatus {
        let setup = &self.setup;
        DaemonStatus {
            schema_version: STATUS_SCHEMA_VERSION,
            pid: std::process::id(),
            node: setup.desired.node.clone(),
            role: setup.role,
            config: setup.config_path.clone(),
            profile: setup.config.profile.clone(),
            netns: self.handle.netns().map(str::to_owned),
            desired_digest: Some(self.desired_digest.clone()),
            drift_policy: setup.config.drift,
            phase: self.phase,
            ready: self.ready,
            paused: self.repairs.paused(),
            status: self.status_line(),
            health: self.health.clone(),
            drift: self.repairs.drift().clone(),
            writes: self.writes,
            repairs: self.repairs.count(),
            last_apply: self.last_apply.clone(),
            reload_error: self.reload_error.clone(),
            dhcp: self.dhcp.borrow().clone(),
            change: self.changes.status().cloned(),
            updated_at_ms: 0,
        }
    }

    /// Publishes the status if anything in it changed; keeps STATUS= current.
    ///
    /// The order is the status contract: first the status file, then the
    /// watch (D-Bus properties and signals), then `STATUS=`; n3xnet-report follows the file.
    /// A consumer woken by a signal or a `STATUS=` line that then reads
    /// `status.json` sees that state or a newer one, never an older one.
    fn publish(&mut self) {
        let mut next = self.snapshot();
        let changed = {
            let current = self.status_tx.borrow();
            next.updated_at_ms = current.updated_at_ms;
            **current != next
        };
        if changed {
            next.updated_at_ms = now_ms();
            if let Some(path) = &self.status_file {
                if let Err(e) = write_status(path, &next) {
                    tracing::warn!(path = %path.display(), "cannot write the status file: {e}");
                }
            }
            let line = next.status.clone();
            self.status_tx.send_replace(Arc::new(next));
            self.notifier.status(&line);
        } else {
            self.notifier.status(&next.status);
        }
    }

    fn stop(&mut self) {
        tracing::info!("stopping; the network is left as it is");
        self.phase = Phase::Stopped;
        self.publish();
        self.notifier.stopping();
    }
}

/// Writes the status file (on the runtime directory's tmpfs: no sync).
fn write_status(path: &std::path::Path, status: &DaemonStatus) -> std::io::Result<()> {
    let mut json = serde_json::to_vec_pretty(status).map_err(std::io::Error::other)?;
    json.push(b'\n');
    write_atomic(path, &json, Durability::Volatile)
}

/// The status before the first publish; replaced right away.
fn placeholder() -> DaemonStatus {
    DaemonStatus {
        schema_version: STATUS_SCHEMA_VERSION,
        pid: std::process::id(),
        ..DaemonStatus::default()
    }
}

fn summary(trigger: Trigger, r: &ApplyReport, error: Option<String>) -> ApplySummary {
    ApplySummary {
        trigger,
        outcome: Some(r.outcome),
        writes: r.writes + r.rollback_writes,
        ops: r.applied.iter().map(ToString::to_string).collect(),
        total_ms: r.timings.total_ms,
        error,
        at_ms: now_ms(),
    }
}
