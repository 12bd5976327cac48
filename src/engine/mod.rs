//! The engine: the transaction that brings the kernel to a desired network,
//! all or nothing.
//!
//! Snapshot → plan → preflight → execute with an undo log → verify → on any
//! failure, undo ([`apply()`]). It is policy, so it lives apart from the
//! code that speaks rtnetlink: it works over a small `Kernel` view (dump;
//! preflight; carry out a batch of independent ops; wait for a change
//! event), which [`crate::netlink`] provides through `Live` and the plan's
//! kernel model ([`crate::plan::simulate`]) provides in the unit tests
//! (`sim.rs`, with injected faults). So rollback, partial failure, batching
//! and verify are tested without root.
//!
//! Why the boundary is a batch of ops, not of requests: requests are built
//! purely by the netlink layer from an op and a snapshot (ifindexes,
//! stages, sysctls, a module loaded on `EOPNOTSUPP`), and what undo and the
//! report need is each op's outcome: touched, done, and why it failed. Why
//! the netlink implementation (`Live`, in `kernel.rs`) sits here rather than in
//! `netlink/`: the dependency stays one-way, engine → netlink, and `Live`
//! only delegates to [`crate::netlink::Handle`].
//!
//! A transaction needs the namespace's writer lock ([`lock`]), taken
//! before its dump: [`apply()`] asks for the held [`WriterLock`], so no
//! writer can forget it.
//!
//! A rollback is an [`Outcome`] of the [`ApplyReport`], not an error:
//! [`EngineError`] is what stops a transaction before any change, or what
//! one op of it ran into.

mod apply;
mod batch;
mod error;
mod execute;
mod kernel;
pub mod lock;
mod report;
#[cfg(test)]
mod sim;

pub use apply::{apply, apply_journalled, revert, ApplyOptions, DEFAULT_VERIFY_TIMEOUT};
pub use error::EngineError;
pub use execute::{execute, Execution};
pub use lock::{LockError, WriterLock};
pub use report::{ApplyFailure, ApplyReport, Outcome, Timings};
