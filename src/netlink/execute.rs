//! Executing ops: independent ops go out together, one datagram per stage,
//! and every op's outcome is known on its own.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

use nix::errno::Errno;

use super::batch;
use super::error::NetlinkError;
use super::handle::Handle;
use super::kmod::Kind;
use super::request::{self, Action, Context, Stages};
use crate::plan::Op;
use crate::state::KernelState;

/// What running a list of ops did.
#[derive(Debug, Default)]
pub struct Execution {
    /// Write requests sent: netlink requests (refused ones included) and
    /// sysctl writes. Dumps and probes are reads and do not count.
    pub writes: u64,
    /// Ops carried out completely, in order.
    pub applied: Vec<Op>,
    /// Why ops failed; empty when all succeeded.
    pub failures: Vec<NetlinkError>,
    /// For each op that changed something (completely or in part), in
    /// order: the ops that undo it.
    pub(crate) undo: Vec<Vec<Op>>,
}

impl Execution {
    pub fn succeeded(&self) -> bool {
        self.failures.is_empty()
    }

    /// The undo log, ready to run: the last change is undone first.
    pub(crate) fn undo_ops(&self) -> Vec<Op> {
        self.undo.iter().rev().flatten().cloned().collect()
    }
}

/// Computes the ops that undo an op from the state it is applied to, or
/// refuses to let it run.
pub(crate) type UndoOf<'a> = &'a dyn Fn(&Op, &KernelState) -> Result<Vec<Op>, NetlinkError>;

/// No undo log (plain execution, or the rollback itself).
pub(crate) fn no_undo(_: &Op, _: &KernelState) -> Result<Vec<Op>, NetlinkError> {
    Ok(Vec::new())
}

/// What to do after a batch in which an op failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnFailure {
    /// Stop: the caller undoes what was done.
    Stop,
    /// Carry on with the remaining ops (undoing: restore as much as can be).
    Continue,
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
    /// Runs `ops` in order against the current state, pipelining independent
    /// ops, and stops after the first batch in which an op fails. Nothing is
    /// undone here; see [`Handle::apply`] for the transactional version.
    pub async fn execute(&self, ops: &[Op]) -> Execution {
        match self.dump().await {
            Ok(state) => self.run(ops, state, OnFailure::Stop, &no_undo).await,
            Err(e) => Execution {
                failures: vec![e],
                ..Execution::default()
            },
        }
    }

    /// Runs `ops` starting from `state` (a fresh dump). Between batches the
    /// kernel is dumped again: the next batch needs the ifindexes of links
    /// the last one created, and each undo is computed from the state its op
    /// really meets, before the op runs (an op that cannot be undone does
    /// not run).
    pub(crate) async fn run(
        &self,
        ops: &[Op],
        mut state: KernelState,
        on_failure: OnFailure,
        undo_of: UndoOf<'_>,
    ) -> Execution {
        let mut ex = Execution::default();
        let mut rest = ops;
        while !rest.is_empty() {
            let (now, later) = rest.split_at(batch::next_batch(rest, &state));
            rest = later;
            let undo: Result<Vec<Vec<Op>>, NetlinkError> =
                now.iter().map(|op| undo_of(op, &state)).collect();
            let undo = match undo {
                Ok(u) => u,
                Err(e) => {
                    ex.failures.push(e);
                    break;
                }
            };
            let failures_before = ex.failures.len();
            let touched = self.run_batch(now, &state, &mut ex).await;
            ex.undo.extend(
                undo.into_iter()
                    .zip(touched)
                    .filter_map(|(u, touched)| touched.then_some(u)),
            );
            let failed = ex.failures.len() > failures_before;
            if rest.is_empty() || (failed && on_failure == OnFailure::Stop) {
                break;
            }
            match self.dump().await {
                Ok(s) => state = s,
                Err(e) => {
                    ex.failures.push(e);
                    break;
                }
            }
        }
        ex
    }

    /// Runs one batch of independent ops; returns, per op, whether it
    /// changed something.
    async fn run_batch(&self, ops: &[Op], state: &KernelState, ex: &mut Execution) -> Vec<bool> {
        let needs_link_locals =
            self.has_ipv6() && ops.iter().any(|o| matches!(o, Op::DisableIpv6Auto { .. }));
        let link_locals = if needs_link_locals {
            match self.ipv6_link_locals().await {
                Ok(v) => v,
                Err(e) => {
                    ex.failures.push(e);
                    return vec![false; ops.len()];
                }
            }
        } else {
            Vec::new()
        };
        let cx = Context {
            state,
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
            self.send_stage(ops, &mut slots, stage, ex).await;
            self.write_sysctls(ops, &mut slots, stage, ex);
        }

        let mut touched = Vec::with_capacity(ops.len());
        for (op, slot) in ops.iter().zip(slots) {
            touched.push(slot.touched);
            if slot.failed {
                ex.failures.extend(slot.error);
            } else {
                ex.applied.push(op.clone());
            }
        }
        touched
    }

    /// Sends the netlink writes of one stage of every live op in one datagram.
    async fn send_stage(&self, ops: &[Op], slots: &mut [Slot], stage: usize, ex: &mut Execution) {
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
        if requests.is_empty() {
            return;
        }
        ex.writes += requests.len() as u64;
        let verdicts = match self.batch(requests.clone(), "executing ops").await {
            Ok(v) => v,
            Err(e) => {
                // The outcome of these writes is unknown: they count as
                // failed, and as untouched, so undo never acts on a guess.
                ex.failures.push(e);
                for (i, _) in owners {
                    slots[i].fail(None);
                }
                return;
            }
        };
        for (((i, done_on), verdict), request) in owners.into_iter().zip(verdicts).zip(requests) {
            let slot = &mut slots[i];
            match verdict {
                Ok(()) => slot.touched = true,
                Err(e) if Some(e.errno()) == done_on => slot.done = true,
                Err(e) => {
                    if let Some(kind) = missing_kind(&ops[i], stage, e.errno()) {
                        // Not preflighted (plain `execute`): load the module
                        // and try once more.
                        match self.retry_with_module(kind, request, &ops[i], ex).await {
                            Ok(()) => {
                                slot.touched = true;
                                continue;
                            }
                            Err(err) => {
                                slot.fail(Some(err));
                                continue;
                            }
                        }
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
        request: (netlink_packet_route::RouteNetlinkMessage, u16),
        op: &Op,
        ex: &mut Execution,
    ) -> Result<(), NetlinkError> {
        self.ensure_kind(kind).await?;
        ex.writes += 1;
        let verdict = self
            .batch(vec![request], "creating a link")
            .await?
            .pop()
            .ok_or_else(|| NetlinkError::ConnectionClosed("creating a link".to_owned()))?;
        verdict.map_err(|source| NetlinkError::Op {
            op: op.to_string(),
            source,
        })
    }

    /// Performs the sysctl writes of one stage of every live op.
    fn write_sysctls(&self, ops: &[Op], slots: &mut [Slot], stage: usize, ex: &mut Execution) {
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
                        ex.writes += 1;
                        slot.touched = true;
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
