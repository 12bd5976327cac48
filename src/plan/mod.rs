//! Plan: a pure diff of the desired network against the kernel's state,
//! as an ordered list of operations.

pub mod bond;
pub mod check;
pub mod diff;
pub mod error;
#[cfg(test)]
mod fixture;
pub mod inverse;
pub mod kind;
pub mod op;
pub mod simulate;
pub mod target;
pub mod topology;

pub use check::{check, CheckRow};
pub use diff::{plan, Plan};
pub use error::PlanError;
pub use inverse::inverse;
pub use op::{BondChange, Op, RouteKey};
pub use simulate::SimError;
