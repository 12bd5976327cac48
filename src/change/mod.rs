//! Confirmed changes, shared by both writers: n3xnetd's `reload
//! --confirm-within` (the previous profile is what a revert applies) and
//! `n3xnetctl apply --confirm-within` on a node n3xnetd does not supervise
//! (the executor's undo log is what a revert runs). Both keep one journal
//! (`<state dir>/change.json`), decide with one state machine
//! ([`pending::Changes`]) and check reachability the same way
//! ([`reach`]); they live here, not under `daemon/`, because the two
//! binaries share them and neither imports the other.

pub mod pending;
pub mod reach;

/// Where the kernel says which boot this is: a journal of another boot is
/// about changes the kernel has forgotten.
const BOOT_ID: &str = "/proc/sys/kernel/random/boot_id";

/// This boot's id.
pub fn boot_id() -> std::io::Result<String> {
    Ok(std::fs::read_to_string(BOOT_ID)?.trim().to_owned())
}

/// What keeps a confirmed change besides `n3xnetctl confirm`
/// (`--confirm-when`, D-Bus `ReloadConfirmed`'s `when`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmWhen {
    /// Only `n3xnetctl confirm`.
    Confirmed,
    /// The network answering: the targets the profile implies, or this
    /// `HOST:PORT`.
    Reachable(Option<String>),
}

impl ConfirmWhen {
    /// `confirmed`, `reachable` or `reachable=HOST:PORT`.
    pub fn parse(when: &str) -> Result<ConfirmWhen, String> {
        match when.split_once('=') {
            None if when == "confirmed" => Ok(ConfirmWhen::Confirmed),
            None if when == "reachable" => Ok(ConfirmWhen::Reachable(None)),
            Some(("reachable", target)) => Ok(ConfirmWhen::Reachable(Some(target.to_owned()))),
            _ => Err(format!(
                "when: found {when:?}, expected confirmed, reachable or reachable=HOST:PORT"
            )),
        }
    }
}
