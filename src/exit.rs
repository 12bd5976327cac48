//! Exit codes of both binaries, one meaning each (sysexits.h where one
//! fits), so scripts and systemd units can tell "drift" from "bad profile".
//! Written once here: the constants, what each means to `n3xnetctl` and to
//! `n3xnetd` (their `--help` and man pages are made from these tables), and
//! which code a netlink error earns.

use crate::engine::{EngineError, LockError};
use crate::netlink::NetlinkError;

/// Success; for `plan`, nothing to do; for `check`, in sync.
pub const OK: u8 = 0;
/// `check`: the kernel differs from the profile; `apply`: failed and rolled back.
pub const DRIFT_OR_FAILED: u8 = 1;
/// `plan`: changes are pending.
pub const CHANGES_PENDING: u8 = 2;
/// Bad command line (unknown flag, missing argument).
pub const USAGE: u8 = 64;
/// The profile is invalid (syntax, types, values, or `--node` not in it).
pub const INVALID_PROFILE: u8 = 65;
/// The profile file cannot be read.
pub const NO_INPUT: u8 = 66;
/// The kernel lacks what the profile needs (bonding, 8021q, ...), or
/// n3xnetd is not there to answer.
pub const UNAVAILABLE: u8 = 69;
/// An internal error (a bug: please report it).
pub const SOFTWARE: u8 = 70;
/// A netlink, I/O or D-Bus error.
pub const IO: u8 = 74;
/// `apply`: another writer (n3xnetctl, n3xnetd) holds the namespace's
/// writer lock (sysexits' EX_TEMPFAIL: try again later); nothing changed.
pub const BUSY: u8 = 75;
/// Not permitted (changing links needs CAP_NET_ADMIN; n3xnetd's methods
/// are root's), or not safe: a file that decides the network is writable
/// by someone other than root ([`crate::trust`]).
pub const NO_PERM: u8 = 77;
/// The profile does not fit this node's kernel state (a declared NIC is
/// missing, a foreign link holds a declared name): nothing was changed.
pub const CONFLICT: u8 = 78;
/// `apply`: n3xnetd supervises the namespace with another network and is
/// not paused (reload it, pause it, or `--force`), or supervises it at all
/// for `--confirm-within` (`reload --confirm-within` is the way); nothing
/// changed.
pub const SUPERVISED: u8 = 79;
/// `reload`, `apply` (any change): a confirmed change is pending; nothing
/// changed until it is confirmed or rolled back.
pub const CHANGE_PENDING: u8 = 80;
/// `confirm`, `rollback`: no confirmed change is pending (it was kept,
/// reverted, or never made); nothing changed.
pub const NOTHING_PENDING: u8 = 81;

/// What each code means to `n3xnetctl`.
pub const CTL: &[(u8, &str)] = &[
    (OK, "ok / in sync / nothing to do"),
    (
        DRIFT_OR_FAILED,
        "drift (check) or apply failed and rolled back",
    ),
    (CHANGES_PENDING, "changes pending (plan)"),
    (USAGE, "usage"),
    (INVALID_PROFILE, "invalid profile"),
    (NO_INPUT, "profile or netns not found"),
    (
        UNAVAILABLE,
        "kernel lacks a feature, or n3xnetd not running (pause, resume, reload, reconcile, \
         status --watch)",
    ),
    (SOFTWARE, "internal error"),
    (IO, "netlink/I-O/D-Bus error"),
    (
        BUSY,
        "another writer holds the namespace (apply; nothing changed)",
    ),
    (
        NO_PERM,
        "permission denied, or (apply) a profile someone other than root could change",
    ),
    (
        CONFLICT,
        "profile conflicts with this node (nothing changed)",
    ),
    (
        SUPERVISED,
        "n3xnetd supervises the namespace with another profile, or at all for --confirm-within \
         (apply; nothing changed)",
    ),
    (
        CHANGE_PENDING,
        "a confirmed change is pending: confirm or roll it back first (reload, apply; nothing \
         changed)",
    ),
    (
        NOTHING_PENDING,
        "no confirmed change is pending (confirm, rollback: it was kept or reverted already)",
    ),
];

/// What each code means to `n3xnetd`.
pub const DAEMON: &[(u8, &str)] = &[
    (
        OK,
        "stopped by SIGTERM/SIGINT (the network is left as it is)",
    ),
    (USAGE, "usage"),
    (INVALID_PROFILE, "invalid configuration or profile"),
    (NO_INPUT, "configuration, profile or netns not found"),
    (SOFTWARE, "internal error"),
    (IO, "netlink error"),
    (
        NO_PERM,
        "no CAP_NET_ADMIN, or a configuration or profile someone other than root could change",
    ),
];

/// What n3xnet-report's exit codes mean.
pub const REPORT: &[(u8, &str)] = &[
    (OK, "stopped by SIGTERM/SIGINT"),
    (USAGE, "usage"),
    (INVALID_PROFILE, "invalid configuration"),
    (NO_INPUT, "configuration not found"),
    (
        SOFTWARE,
        "internal error (the runtime, or n3xnetd's status cannot be watched)",
    ),
    (
        NO_PERM,
        "a configuration someone other than root could change",
    ),
];

/// One line for `--help`: `Exit codes: 0 ...; 1 ....`
pub fn help(table: &[(u8, &str)]) -> String {
    let rows: Vec<String> = table.iter().map(|(c, m)| format!("{c} {m}")).collect();
    format!("Exit codes: {}.", rows.join("; "))
}

/// The code an engine error earns: a profile that does not fit the
/// kernel, or what its netlink error earns.
pub fn of_engine(e: &EngineError) -> u8 {
    match e {
        EngineError::Plan(_) => CONFLICT,
        EngineError::Netlink(e) => of_netlink(e),
        EngineError::Lock(LockError::Busy { .. }) => BUSY,
        EngineError::Lock(LockError::Netns(e)) => of_netlink(e),
        EngineError::Lock(_) | EngineError::Journal(_) => IO,
    }
}

/// The code a netlink error earns, the same for both binaries.
pub fn of_netlink(e: &NetlinkError) -> u8 {
    use nix::errno::Errno;
    match e {
        NetlinkError::NoCapNetAdmin => NO_PERM,
        NetlinkError::NetnsEnter { source, .. } if *source == Errno::EPERM => NO_PERM,
        NetlinkError::Op { source, .. } | NetlinkError::Dump { source, .. }
            if source.errno() == Errno::EPERM =>
        {
            NO_PERM
        }
        NetlinkError::NetnsOpen { .. } | NetlinkError::InvalidNetnsName(_) => NO_INPUT,
        NetlinkError::Unsupported { .. } => UNAVAILABLE,
        NetlinkError::NoRuntime => SOFTWARE,
        _ => IO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_meaning_per_binary() {
        for table in [CTL, DAEMON, REPORT] {
            let mut codes: Vec<u8> = table.iter().map(|(c, _)| *c).collect();
            codes.sort_unstable();
            codes.dedup();
            assert_eq!(codes.len(), table.len());
        }
        assert!(help(CTL).starts_with("Exit codes: 0 ok / in sync"));
        assert!(help(DAEMON).contains("; 77 no CAP_NET_ADMIN, or "));
    }
}
