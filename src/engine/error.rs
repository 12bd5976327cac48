//! The engine's error type: what stops a transaction before it changes
//! anything, and what an op of it ran into.
//!
//! Two sources, each with its own context already: the kernel (a dump, a
//! refused request, a missing capability or link kind: [`NetlinkError`]
//! names the op or the dump, the errno and the kernel's message) and the
//! plan (the desired network conflicts with the kernel, or an op cannot be
//! undone: [`PlanError`] names the links and the op). A rollback is not an
//! error: it is an [`Outcome`](super::Outcome) of the report. Nor is it
//! the engine's to take the writer lock, but a writer that cannot get it
//! fails with a [`LockError`] through the same paths.

use super::lock::LockError;
use crate::netlink::{KernelError, NetlinkError};
use crate::plan::PlanError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Netlink(#[from] NetlinkError),

    #[error(transparent)]
    Plan(#[from] PlanError),

    #[error(transparent)]
    Lock(#[from] LockError),

    /// The caller's journal of the change (a confirmed change's, written
    /// before the first write) could not be kept: nothing was changed.
    #[error("{0}")]
    Journal(String),
}

impl EngineError {
    /// The kernel refusal behind this error, if it is one.
    pub fn kernel(&self) -> Option<&KernelError> {
        match self {
            EngineError::Netlink(e) => e.kernel(),
            EngineError::Plan(_) | EngineError::Lock(_) | EngineError::Journal(_) => None,
        }
    }

    /// The op the kernel refused, as displayed.
    pub fn op(&self) -> Option<&str> {
        match self {
            EngineError::Netlink(e) => e.op(),
            EngineError::Plan(_) | EngineError::Lock(_) | EngineError::Journal(_) => None,
        }
    }
}
