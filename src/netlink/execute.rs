//! Executing ops: independent ops go out together, one datagram per stage,
//! and every op's outcome is known on its own.

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

use nix::errno::Errno;

use super::batch;
use super::error::NetlinkError;
use super::handle::Handle;
use super::kmod::Kind;
use super::request::{self, Action, Context, Stages};
use crate::desired::LinkKind;
use crate::plan::{simulate, BondChange, Op};
use crate::state::KernelState;

/// What running a list of ops did.
#[derive(Debug, Default)]
pub struct Execution {
    /// Write requests sent: netlink requests (refused ones included) and
    /// sysctl writes. Dumps and probes are reads and do not count.
    pub writes: u64,
    /// Ops carried out completely, in plan order (independent ops may have
    /// run in another order).
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

/// What the executor knows of the kernel between batches.
struct View {
    /// The last dump: the source of ifindexes.
    known: KernelState,
    /// `known` plus the modelled effects of the ops since (see
    /// [`plan::simulate`]): the state each undo is computed from. Only kept
    /// when an undo log is.
    model: Option<KernelState>,
    /// Links created or deleted since the last dump: their ifindexes in
    /// `known` are missing or stale.
    dirty: HashSet<String>,
}

impl View {
    fn new(known: KernelState, modelled: bool) -> Self {
        View {
            model: modelled.then(|| known.clone()),
            known,
            dirty: HashSet::new(),
        }
    }

    /// `ops` would be built from stale ifindexes.
    fn stale_for(&self, ops: &[&Op]) -> bool {
        !self.dirty.is_empty()
            && ops
                .iter()
                .any(|op| mentions(op).any(|n| self.dirty.contains(n)))
    }

    /// Records what the ops that changed something (`touched`) and those
    /// carried out completely (`done`) did; `false` when the model cannot
    /// follow (it refuses an op the kernel accepted) and only a dump will do.
    fn advance(&mut self, touched: &[&Op], done: &[&Op]) -> bool {
        for op in touched {
            if let Op::CreateLink { name, .. } | Op::DeleteLink { name } = op {
                self.dirty.insert(name.clone());
            }
        }
        match &mut self.model {
            Some(model) => done.iter().all(|op| simulate::apply(model, op).is_ok()),
            None => true,
        }
    }

    fn refresh(&mut self, known: KernelState) {
        *self = View::new(known, self.model.is_some());
    }
}

/// Every link name an op's requests refer to.
fn mentions(op: &Op) -> impl Iterator<Item = &str> {
    let mut names = vec![op.link()];
    match op {
        Op::CreateLink { kind, .. } => match kind {
            LinkKind::Vlan { parent, .. }
            | LinkKind::Macvlan { parent, .. }
            | LinkKind::Ipvlan { parent, .. } => names.push(parent),
            LinkKind::Bond(o) => names.extend(o.primary.as_deref()),
            LinkKind::Ethernet => {}
        },
        Op::SetBondOptions { changes, .. } => {
            for c in changes {
                if let BondChange::Primary(Some(p)) = c {
                    names.push(p);
                }
            }
        }
        Op::SetMaster { bond, .. } => names.push(bond),
        _ => {}
    }
    names.into_iter()
}

impl Handle {
    /// Runs `ops` in order against the current state, pipelining independent
    /// ops, and stops after the first batch in which an op fails. Nothing is
    /// undone here; see [`Handle::apply`] for the transactional version.
    pub async fn execute(&self, ops: &[Op]) -> Execution {
        match self.dump().await {
            Ok(state) => self.run(ops, state, OnFailure::Stop, None).await,
            Err(e) => Execution {
                failures: vec![e],
                ..Execution::default()
            },
        }
    }

    /// Runs `ops` starting from `state` (a fresh dump). With `undo_of`, each
    /// op's undo is computed before it runs, from the state it will meet (an
    /// op that cannot be undone does not run). The kernel is dumped again
    /// only when a batch refers to links created or deleted since the last
    /// dump (their ifindexes), or when the model loses track.
    pub(crate) async fn run(
        &self,
        ops: &[Op],
        state: KernelState,
        on_failure: OnFailure,
        undo_of: Option<UndoOf<'_>>,
    ) -> Execution {
        let mut ex = Execution::default();
        let mut applied = Vec::new();
        let batches = batch::schedule(ops, &state);
        let mut view = View::new(state, undo_of.is_some());
        for indexes in batches {
            let now: Vec<&Op> = indexes.iter().map(|&i| &ops[i]).collect();
            if view.stale_for(&now) {
                match self.dump().await {
                    Ok(s) => view.refresh(s),
                    Err(e) => {
                        ex.failures.push(e);
                        break;
                    }
                }
            }
            let undo: Result<Vec<Vec<Op>>, NetlinkError> = match (undo_of, &view.model) {
                (Some(undo_of), Some(before)) => now.iter().map(|op| undo_of(op, before)).collect(),
                _ => Ok(vec![Vec::new(); now.len()]),
            };
            let undo = match undo {
                Ok(u) => u,
                Err(e) => {
                    ex.failures.push(e);
                    break;
                }
            };
            let failures_before = ex.failures.len();
            let outcome = self.run_batch(&now, &view.known, &mut ex).await;
            let (mut touched_ops, mut done) = (Vec::new(), Vec::new());
            for (((i, op), u), (touched, complete)) in
                indexes.iter().zip(&now).zip(undo).zip(outcome)
            {
                if touched {
                    ex.undo.push(u);
                    touched_ops.push(*op);
                }
                if complete {
                    applied.push(*i);
                    done.push(*op);
                }
            }
            if ex.failures.len() > failures_before && on_failure == OnFailure::Stop {
                break;
            }
            if !view.advance(&touched_ops, &done) {
                match self.dump().await {
                    Ok(s) => view.refresh(s),
                    Err(e) => {
                        ex.failures.push(e);
                        break;
                    }
                }
            }
        }
        // Reported in plan order; the undo log keeps the order of execution.
        applied.sort_unstable();
        ex.applied = applied.into_iter().map(|i| ops[i].clone()).collect();
        ex
    }

    /// Runs one batch of independent ops; returns, per op, whether it
    /// changed something and whether it was carried out completely.
    async fn run_batch(
        &self,
        ops: &[&Op],
        state: &KernelState,
        ex: &mut Execution,
    ) -> Vec<(bool, bool)> {
        let needs_link_locals =
            self.has_ipv6() && ops.iter().any(|o| matches!(o, Op::DisableIpv6Auto { .. }));
        let link_locals = if needs_link_locals {
            match self.ipv6_link_locals().await {
                Ok(v) => v,
                Err(e) => {
                    ex.failures.push(e);
                    return vec![(false, false); ops.len()];
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

        slots
            .into_iter()
            .map(|slot| {
                let done = !slot.failed;
                ex.failures.extend(slot.error);
                (slot.touched, done)
            })
            .collect()
    }

    /// Sends the netlink writes of one stage of every live op in one datagram.
    async fn send_stage(&self, ops: &[&Op], slots: &mut [Slot], stage: usize, ex: &mut Execution) {
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
                    if let Some(kind) = missing_kind(ops[i], stage, e.errno()) {
                        // Not preflighted (plain `execute`): load the module
                        // and try once more.
                        match self.retry_with_module(kind, request, ops[i], ex).await {
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
    fn write_sysctls(&self, ops: &[&Op], slots: &mut [Slot], stage: usize, ex: &mut Execution) {
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
