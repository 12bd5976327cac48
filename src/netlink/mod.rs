//! The netlink layer: the only code that speaks rtnetlink.
//!
//! It reads the kernel into [`crate::state::KernelState`], executes
//! [`crate::plan::Op`]s, and applies a desired network transactionally.
//! The rtnetlink crates' types never leave this module: they change between
//! releases, and everything above is written against n3xnet's own types.

mod ack;
mod apply;
mod batch;
mod dump;
mod error;
mod events;
mod execute;
#[cfg(test)]
mod fixtures;
mod handle;
mod kmod;
mod lease;
mod netns;
mod parse;
mod request;

pub use apply::{ApplyOptions, ApplyReport, Failure, Outcome, Timings, DEFAULT_VERIFY_TIMEOUT};
pub use error::{KernelError, NetlinkError};
pub use events::{Burst, Events, STATE_GROUPS};
pub use execute::Execution;
pub use handle::Handle;
pub use lease::LeaseRoute;
pub use netns::NETNS_DIR;
