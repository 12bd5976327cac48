//! Plan: a pure diff of the desired network against the kernel's state,
//! as an ordered list of operations.
//!
//! - [`plan()`] ([`diff`]): the minimal ordered [`Op`]s that turn a
//!   [`KernelState`](crate::state::KernelState) into a
//!   [`DesiredNetwork`](crate::desired::DesiredNetwork); empty when in sync.
//! - [`check()`] ([`check`]): per-attribute rows, what `apply` verifies and
//!   `check` prints; empty plan ⇔ every row ok.
//! - [`inverse()`] ([`inverse`]): the ops that undo one op, for rollback.
//! - [`simulate`]: the kernel model all three are exact against.

pub mod bond;
pub mod check;
pub mod diff;
pub mod error;
#[cfg(test)]
pub(crate) mod fixture;
pub mod inverse;
pub mod kind;
pub mod op;
mod region;
pub mod resume;
pub mod simulate;
mod target;
pub mod topology;

pub use check::{check, CheckRow};
pub use diff::{plan, Plan};
pub use error::{PlanError, SimError};
pub use inverse::{inverse, inverses};
pub use op::{BondChange, Op, RouteKey};
pub use resume::unfinished;
pub use target::route_matches;
