//! The plan's kernel model ([`simulate`]) as a [`Kernel`], with faults to
//! inject: the double the engine's unit tests run transactions against.
//!
//! It records every batch it is sent and counts dumps, so tests can see
//! stage boundaries and re-reads. It never changes by itself: `settle`
//! only waits out the deadline.

use nix::errno::Errno;

use super::kernel::Kernel;
use crate::netlink::{KernelError, NetlinkError, Progress, Sent};
use crate::plan::{simulate, Op};
use crate::state::KernelState;

/// What the model does with one op instead of carrying it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Refuse it with this errno, changing nothing.
    Refuse(Errno),
    /// Carry it out, then refuse a later stage of it with this errno: the
    /// op changed the kernel but did not complete.
    Partial(Errno),
    /// Acknowledge it and change nothing (only verify can notice).
    Ignore,
}

pub struct Sim {
    pub state: KernelState,
    faults: Vec<(Op, Fault)>,
    /// Every batch sent, in order.
    pub batches: Vec<Vec<Op>>,
    pub dumps: u32,
}

impl Sim {
    pub fn new(state: KernelState) -> Self {
        Sim {
            state,
            faults: Vec::new(),
            batches: Vec::new(),
            dumps: 0,
        }
    }

    /// `op`, whenever it is sent, meets `fault`.
    pub fn fault(mut self, op: Op, fault: Fault) -> Self {
        self.faults.push((op, fault));
        self
    }

    fn carry_out(&mut self, op: &Op) -> (Progress, Option<KernelError>) {
        let refused = |errno: Errno| Some(KernelError::new(errno as i32, None));
        let fault = self.faults.iter().find(|(o, _)| o == op).map(|(_, f)| *f);
        let done = Progress {
            touched: true,
            done: true,
        };
        match fault {
            Some(Fault::Refuse(errno)) => (Progress::default(), refused(errno)),
            Some(Fault::Ignore) => (done, None),
            Some(Fault::Partial(errno)) => match simulate::apply(&mut self.state, op) {
                Ok(()) => (
                    Progress {
                        touched: true,
                        done: false,
                    },
                    refused(errno),
                ),
                Err(e) => (Progress::default(), Some(model_refusal(&e))),
            },
            None => match simulate::apply(&mut self.state, op) {
                Ok(()) => (done, None),
                Err(e) => (Progress::default(), Some(model_refusal(&e))),
            },
        }
    }
}

/// The model's refusal, as the kernel's `EINVAL` with the model's reason as
/// its extended-ack message.
fn model_refusal(e: &crate::plan::SimError) -> KernelError {
    KernelError::new(Errno::EINVAL as i32, Some(e.to_string()))
}

impl Kernel for Sim {
    async fn dump(&mut self) -> Result<KernelState, NetlinkError> {
        self.dumps += 1;
        Ok(self.state.clone())
    }

    async fn preflight(&mut self, _ops: &[Op]) -> Result<(), NetlinkError> {
        Ok(())
    }

    fn watch(&mut self) {}

    async fn settle(&mut self, deadline: tokio::time::Instant) {
        tokio::time::sleep_until(deadline).await;
    }

    async fn send(&mut self, batch: &[&Op], _known: &KernelState) -> Sent {
        self.batches
            .push(batch.iter().map(|&op| op.clone()).collect());
        let mut sent = Sent::default();
        for &op in batch {
            sent.writes += 1;
            let (progress, error) = self.carry_out(op);
            sent.ops.push(progress);
            sent.failures.extend(error.map(|source| NetlinkError::Op {
                op: op.to_string(),
                source,
            }));
        }
        sent
    }
}
