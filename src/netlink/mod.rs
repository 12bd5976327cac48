//! The netlink layer: the only code that speaks rtnetlink.
//!
//! It reads the kernel into [`crate::state::KernelState`], carries out
//! batches of [`crate::plan::Op`]s (requests built purely, one datagram per
//! stage, a verdict per op), probes and loads the kernel support a plan
//! needs, and reports changes. It holds no policy: what to plan, undo,
//! verify or roll back is [`crate::engine`]'s, which uses this layer
//! through its `Kernel` view. The rtnetlink crates' types never leave this
//! module: they change between releases, and everything above is written
//! against n3xnet's own types.

mod ack;
mod dump;
mod error;
mod events;
#[cfg(feature = "fault-injection")]
mod fault;
mod handle;
mod kmod;
mod lease;
mod netns;
mod parse;
mod request;
mod send;

#[doc(hidden)]
pub use dump::state_from_dump_bytes;
pub use error::{KernelError, NetlinkError};
pub use events::{Burst, Events, STATE_GROUPS};
pub use handle::Handle;
pub use lease::LeaseRoute;
pub use netns::{NetnsId, NETNS_DIR};
/// For the engine's test double, which reports progress the way `send` does.
#[cfg(test)]
pub(crate) use send::Progress;
pub(crate) use send::Sent;
