//! Sending one batch of independent ops: each op's requests (built purely by
//! [`super::request`]) go out stage by stage, every live op's stage in one
//! datagram, and every op's outcome is known on its own.
//!
//! Which ops form a batch, what to undo and when to stop is the engine's
//! business ([`crate::engine`]); this file only carries a batch out.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

use netlink_packet_route::RouteNetlinkMessage;
use nix::errno::Errno;

use super::error::NetlinkError;
use super::handle::Handle;
use super::kmod::Kind;
use super::request::{self, Action, Context, Stages};
use crate::plan::Op;
use crate::state::KernelState;

/// What the kernel did with one batch (see [`Handle::send`]).
#[derive(Debug, Default)]
pub(crate) struct Sent {
    /// Write requests sent: netlink requests (refused ones included) and
    /// sysctl writes.
    pub writes: u64,
    /// Per op of the batch, in its order.
    pub ops: Vec<Progress>,
    /// Why ops failed, and failures of the whole batch (a lost datagram):
    /// empty when every op was carried out.
    pub failures: Vec<NetlinkError>,
}

/// How far one op of a batch got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Progress {
    /// Some write of it succeeded: the kernel changed (undo has work).
    pub touched: bool,
    /// It was carried out completely.
    pub done: bool,
}

/// Progress of one op within its batch.
struct Slot {
    stages: Stages,
    /// Some write of it succeeded.
    touched: bool,
    /// The kernel said there is nothing more to do.
    done: bool,
    failed: bool,
    error: Option<NetlinkError>,
}

impl Slot {
    fn alive(&self) -> bool {
        !self.done && !self.failed
    }

    fn fail(&mut self, error: Option<NetlinkError>) {
        self.failed = true;
        self.error = error;
    }
}

impl Handle {
    /// Carries out one batch of independent ops, their requests built
    /// against `known` (a dump recent enough for the ifindexes they name):
    /// stage after stage, each stage of every live op in one datagram.
    pub(crate) async fn send(&self, ops: &[&Op], known: &KernelState) -> Sent {
        let mut sent = Sent::default();
        let needs_link_locals =
            self.has_ipv6() && ops.iter().any(|o| matches!(o, Op::DisableIpv6Auto { .. }));
        let link_locals = if needs_link_locals {
            match self.ipv6_link_locals().await {
                Ok(v) => v,
                Err(e) => {
                    sent.failures.push(e);
                    sent.ops = vec![Progress::default(); ops.len()];
                    return sent;
                }
            }
        } else {
            Vec::new()
        };
        let cx = Context {
            state: known,
            ipv6: self.has_ipv6(),
            link_locals: &link_locals,
        };
        let mut slots: Vec<Slot> = ops
            .iter()
            .map(|op| {
                let (stages, error) = match request::build(op, &cx) {
                    Ok(s) => (s, None),
                    Err(e) => (Vec::new(), Some(e)),
                };
                Slot {
                    stages,
                    touched: false,
                    done: false,
                    failed: error.is_some(),
                    error,
                }
            })
            .collect();
        let depth = slots.iter().map(|s| s.stages.len()).max().unwrap_or(0);
        for stage in 0..depth {
            self.send_stage(ops, &mut slots, stage, &mut sent).await;
            self.write_sysctls(ops, &mut slots, stage, &mut sent);
        }
        for slot in slots {
            sent.ops.push(Progress {
                touched: slot.touched,
                done: !slot.failed,
            });
            sent.failures.extend(slot.error);
        }
        sent
    }

    /// Sends the netlink writes of one stage of every live op in one datagram.
    async fn send_stage(&self, ops: &[&Op], slots: &mut [Slot], stage: usize, sent: &mut Sent) {
        let mut owners = Vec::new();
        let mut requests = Vec::new();
        for (i, slot) in slots.iter().enumerate().filter(|(_, s)| s.alive()) {
            for action in slot.stages.get(stage).into_iter().flatten() {
                if let Action::Netlink {
                    msg,
                    flags,
                    done_on,
                } = action
                {
                    owners.push((i, *done_on));
                    requests.push((msg.clone(), *flags));
                }
            }
        }
        #[cfg(feature = "fault-injection")]
        requests.truncate(super::fault::allowed(requests.len()));
        if requests.is_empty() {
            return;
        }
        sent.writes += requests.len() as u64;
        let verdicts = match self.batch(requests.clone(), "executing ops").await {
            Ok(v) => v,
            Err(e) => {
                // The outcome of these writes is unknown: they count as
                // failed, and as untouched, so undo never acts on a guess.
                sent.failures.push(e);
                for (i, _) in owners {
                    slots[i].fail(None);
                }
                return;
            }
        };
        #[cfg(feature = "fault-injection")]
        super::fault::answered(verdicts.len());
        for (((i, done_on), verdict), request) in owners.into_iter().zip(verdicts).zip(requests) {
            let slot = &mut slots[i];
            match verdict {
                Ok(()) => slot.touched = true,
                Err(e) if Some(e.errno()) == done_on => slot.done = true,
                Err(e) => {
                    if let Some(kind) = missing_kind(ops[i], stage, e.errno()) {
                        // Not preflighted (plain `execute`): load the module
                        // and try once more.
                        match self.retry_with_module(kind, request, ops[i], sent).await {
                            Ok(()) => slot.touched = true,
                            Err(err) => slot.fail(Some(err)),
                        }
                        continue;
                    }
                    slot.fail(Some(NetlinkError::Op {
                        op: ops[i].to_string(),
                        source: e,
                    }));
                }
            }
        }
    }

    async fn retry_with_module(
        &self,
        kind: Kind,
        request: (RouteNetlinkMessage, u16),
        op: &Op,
        sent: &mut Sent,
    ) -> Result<(), NetlinkError> {
        self.ensure_kind(kind).await?;
        sent.writes += 1;
        let verdict = self
            .batch(vec![request], "creating a link")
            .await?
            .pop()
            .ok_or_else(|| NetlinkError::ConnectionClosed("creating a link".to_owned()))?;
        #[cfg(feature = "fault-injection")]
        super::fault::answered(1);
        verdict.map_err(|source| NetlinkError::Op {
            op: op.to_string(),
            source,
        })
    }

    /// Performs the sysctl writes of one stage of every live op.
    fn write_sysctls(&self, ops: &[&Op], slots: &mut [Slot], stage: usize, sent: &mut Sent) {
        for (op, slot) in ops.iter().zip(slots.iter_mut()) {
            if !slot.alive() {
                continue;
            }
            let mut error = None;
            for action in slot.stages.get(stage).into_iter().flatten() {
                let Action::Sysctl { path, value } = action else {
                    continue;
                };
                match self.in_netns(|| write_sysctl(path, value)).and_then(|r| {
                    r.map_err(|source| NetlinkError::Sysctl {
                        op: op.to_string(),
                        path: path.clone(),
                        source,
                    })
                }) {
                    Ok(true) => {
                        sent.writes += 1;
                        slot.touched = true;
                        #[cfg(feature = "fault-injection")]
                        super::fault::answered(1);
                    }
                    // No such file: the link has no IPv6, nothing to do.
                    Ok(false) => {}
                    Err(e) => {
                        error = Some(e);
                        break;
                    }
                }
            }
            if let Some(e) = error {
                slot.fail(Some(e));
            }
        }
    }
}

/// The link kind whose creation failed for lack of kernel support.
fn missing_kind(op: &Op, stage: usize, errno: Errno) -> Option<Kind> {
    match op {
        Op::CreateLink { kind, .. } if stage == 0 && errno == Errno::EOPNOTSUPP => Kind::of(kind),
        _ => None,
    }
}

/// Writes `value`; `Ok(false)` when the file does not exist.
fn write_sysctl(path: &Path, value: &str) -> io::Result<bool> {
    match OpenOptions::new().write(true).open(path) {
        Ok(mut f) => f.write_all(value.as_bytes()).map(|()| true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}
