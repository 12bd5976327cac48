//! `n3xnetctl apply` on a node n3xnetd supervises.
//!
//! An operator's apply of another profile than the daemon's would only
//! start a fight: an enforcing daemon repairs it back, a reporting one
//! reports drift for good. So before applying, `apply` reads the daemon's
//! `status.json` (its runtime directory) and refuses (exit 79) when a
//! running daemon supervises the same namespace (compared by nsfs inode,
//! so `--netns` names and the daemon's own namespace all match) with
//! another desired network (compared by
//! [`DesiredNetwork::digest`], which covers the node's whole resolved
//! network: two profile files that resolve the same are the same), and is
//! not paused. The message says what to do: change the daemon's profile
//! and `n3xnetctl reload`, or `n3xnetctl pause` first, or `--force`.
//!
//! The same network is a plain apply, which the daemon then sees in sync.
//! A paused daemon lets the apply through and reports the difference as
//! drift. `--force` applies anyway; an enforcing daemon that is not paused
//! then repairs its own profile back, by design: it is the node's
//! supervisor, and pausing it is how an operator takes over.

use std::path::Path;

use super::Failure;
use crate::api::status::{DaemonStatus, Phase, STATUS_FILE};
use crate::desired::DesiredNetwork;
use crate::exit;
use crate::netlink::NetnsId;

/// `Err` (exit 79) when n3xnetd, as its status in `runtime_dir` says,
/// supervises `netns` with another network than `desired` and is not
/// paused, unless `force`. No status file, or a stopped daemon: nothing
/// to ask.
pub fn check(
    runtime_dir: &Path,
    netns: Option<&str>,
    desired: &DesiredNetwork,
    force: bool,
) -> Result<(), Failure> {
    let Some(daemon) = supervisor(runtime_dir, netns)? else {
        return Ok(());
    };
    if daemon.desired_digest.as_deref() == Some(desired.digest().as_str()) {
        return Ok(());
    }
    let who = format!(
        "n3xnetd (PID {}) supervises this namespace with another profile ({}, node {}, drift \
         policy {})",
        daemon.pid,
        daemon.profile.display(),
        daemon.node,
        daemon.drift_policy.as_str()
    );
    if daemon.paused {
        eprintln!("n3xnetctl apply: {who}, paused: applying; it reports the difference as drift");
        return Ok(());
    }
    if force {
        eprintln!(
            "n3xnetctl apply: {who}: applying anyway (--force){}",
            if daemon.drift_policy == crate::config::DriftPolicy::Enforce {
                "; it repairs its own profile back (pause it to take over)"
            } else {
                ""
            }
        );
        return Ok(());
    }
    Err(Failure::new(
        exit::SUPERVISED,
        format!(
            "{who}: nothing changed. To change the node's network, change n3xnetd's profile and \
             run `n3xnetctl reload`; to take over by hand, run `n3xnetctl pause` first (and \
             `n3xnetctl resume` to hand back); or apply anyway with --force"
        ),
    ))
}

/// `Err` (exit 79) when n3xnetd supervises `netns`: a confirmed change
/// there is the daemon's (`reload --confirm-within`), whose own journal
/// and repairs would otherwise fight n3xnetctl's undo log.
pub fn refuse_confirmed(runtime_dir: &Path, netns: Option<&str>) -> Result<(), Failure> {
    match supervisor(runtime_dir, netns)? {
        None => Ok(()),
        Some(daemon) => Err(Failure::new(
            exit::SUPERVISED,
            format!(
                "n3xnetd (PID {}) supervises this namespace: nothing changed. A confirmed change \
                 is its to make: change its profile ({}) and run `n3xnetctl reload \
                 --confirm-within DURATION`",
                daemon.pid,
                daemon.profile.display()
            ),
        )),
    }
}

/// n3xnetd's status, as its status file in `runtime_dir` says, when it
/// runs and supervises `netns`. No status file, or a stopped daemon:
/// `None`.
fn supervisor(runtime_dir: &Path, netns: Option<&str>) -> Result<Option<DaemonStatus>, Failure> {
    let path = runtime_dir.join(STATUS_FILE);
    let Ok(bytes) = std::fs::read(&path) else {
        return Ok(None);
    };
    let daemon: DaemonStatus = serde_json::from_slice(&bytes).map_err(|e| {
        Failure::new(
            exit::IO,
            format!("cannot read n3xnetd's status {}: {e}", path.display()),
        )
    })?;
    let running =
        daemon.phase != Phase::Stopped && Path::new(&format!("/proc/{}", daemon.pid)).exists();
    Ok((running && same_namespace(&daemon, netns)).then_some(daemon))
}

/// Whether the daemon's namespace is `netns` (`None`: this process's).
/// When an inode cannot be read, the names decide.
fn same_namespace(daemon: &DaemonStatus, netns: Option<&str>) -> bool {
    match (
        NetnsId::of(daemon.netns.as_deref(), Some(daemon.pid)),
        NetnsId::of(netns, None),
    ) {
        (Ok(theirs), Ok(ours)) => theirs == ours,
        _ => daemon.netns.as_deref() == netns,
    }
}
