//! Plan: a pure diff of the desired network against the kernel's state,
//! as an ordered list of operations.

pub mod op;

pub use op::{BondChange, Op, RouteKey};
