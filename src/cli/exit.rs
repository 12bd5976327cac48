//! Exit codes of n3xnetctl, one meaning each (sysexits.h where one fits),
//! so scripts and systemd units can tell "drift" from "bad profile".

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
/// The kernel lacks what the profile needs (bonding, 8021q, ...).
pub const UNAVAILABLE: u8 = 69;
/// An internal error (a bug: please report it).
pub const SOFTWARE: u8 = 70;
/// A netlink or I/O error talking to the kernel.
pub const IO: u8 = 74;
/// Not permitted (n3xnetctl needs CAP_NET_ADMIN to change links).
pub const NO_PERM: u8 = 77;
/// The profile does not fit this node's kernel state (a declared NIC is
/// missing, a foreign link holds a declared name): nothing was changed.
pub const CONFLICT: u8 = 78;
