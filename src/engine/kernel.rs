//! The engine's view of the kernel: read it whole, carry out a batch of
//! independent ops, wait for it to announce a change. [`Live`] is that view
//! through a netlink [`Handle`]; the unit tests use the plan's kernel model.

use crate::netlink::{Events, Handle, NetlinkError, Sent};
use crate::plan::Op;
use crate::state::KernelState;

/// Pause between verify attempts when no change subscription is available.
const POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// What a transaction needs from a kernel.
///
/// The unit of writing is a batch of ops, not of requests: how an op becomes
/// requests (ifindexes, stages, sysctls, a module loaded on `EOPNOTSUPP`)
/// is the kernel side's concern, and an op's outcome (touched, done, why it
/// failed) is what undo and the report need.
pub(crate) trait Kernel {
    /// Links, addresses and main-table routes of both families, as one snapshot.
    async fn dump(&mut self) -> Result<KernelState, NetlinkError>;

    /// Fails, before any change, when `ops` cannot be carried out at all
    /// (no `CAP_NET_ADMIN`, a link kind the kernel lacks).
    async fn preflight(&mut self, ops: &[Op]) -> Result<(), NetlinkError>;

    /// From now on, notice the changes the kernel announces; called before
    /// the first write, so [`Kernel::settle`] misses none.
    fn watch(&mut self);

    /// Waits until the kernel announces a change that the last
    /// [`Kernel::dump`] did not see, or until `deadline`.
    async fn settle(&mut self, deadline: tokio::time::Instant);

    /// Carries out `batch`, ops of which none touches what another changes,
    /// with requests built against `known` (a dump recent enough for the
    /// ifindexes they name).
    async fn send(&mut self, batch: &[&Op], known: &KernelState) -> Sent;
}

/// The kernel behind a netlink [`Handle`], with the change subscription
/// that [`Kernel::watch`] opens (on a socket of its own).
pub(crate) struct Live<'h> {
    handle: &'h Handle,
    changes: Option<Events>,
}

impl<'h> Live<'h> {
    pub(crate) fn new(handle: &'h Handle) -> Self {
        Live {
            handle,
            changes: None,
        }
    }
}

impl Kernel for Live<'_> {
    async fn dump(&mut self) -> Result<KernelState, NetlinkError> {
        // Whatever is queued happened before this dump sees it.
        if let Some(changes) = &mut self.changes {
            changes.discard();
        }
        self.handle.dump().await
    }

    async fn preflight(&mut self, ops: &[Op]) -> Result<(), NetlinkError> {
        self.handle.preflight(ops).await
    }

    fn watch(&mut self) {
        self.changes = self
            .handle
            .events()
            .map_err(|e| tracing::warn!("no netlink events for verification, polling: {e}"))
            .ok();
    }

    async fn settle(&mut self, deadline: tokio::time::Instant) {
        match &mut self.changes {
            Some(changes) => {
                let _ = tokio::time::timeout_at(deadline, changes.next_burst()).await;
            }
            None => {
                tokio::time::sleep_until(deadline.min(tokio::time::Instant::now() + POLL)).await
            }
        }
    }

    async fn send(&mut self, batch: &[&Op], known: &KernelState) -> Sent {
        self.handle.send(batch, known).await
    }
}
