//! Executing ops: batch after batch of independent ops (see [`super::batch`]),
//! each op's undo computed from the state it will meet before it runs, and
//! the kernel re-read only when ifindexes went stale or the model lost track.

use std::collections::HashSet;

use super::batch;
use super::error::EngineError;
use super::kernel::{Kernel, Live};
use crate::desired::LinkKind;
use crate::netlink::Handle;
use crate::plan::{self, simulate, BondChange, Op};
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
    pub failures: Vec<EngineError>,
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

/// How [`run`] treats undo and failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Log each op's undo before it runs (an op that cannot be undone does
    /// not run); stop after a batch in which an op failed: the caller
    /// undoes what was done.
    Transaction,
    /// No undo log; stop after a batch in which an op failed.
    Plain,
    /// No undo log; carry on past failures (undoing: restore as much as can
    /// be).
    Rollback,
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

    /// Forgets what it modelled: the kernel is read again.
    async fn redump(&mut self, kernel: &mut impl Kernel) -> Result<(), EngineError> {
        let known = kernel.dump().await?;
        *self = View::new(known, self.model.is_some());
        Ok(())
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

/// The undo log of `ops` run from `state`, before any of them runs: what
/// [`run`] logs batch by batch as it goes (the inverses of each batch
/// from the modelled state before it, the last change undone first), for
/// a caller that must store it before the first write (a confirmed
/// change's journal). An error when an op cannot be undone or the model
/// would refuse it, as the executor would stop there too.
pub(crate) fn undo_log(ops: &[Op], state: &KernelState) -> Result<Vec<Op>, plan::PlanError> {
    let mut model = state.clone();
    let mut undo = Vec::new();
    for indexes in batch::schedule(ops, state) {
        let now: Vec<Op> = indexes.iter().map(|&i| ops[i].clone()).collect();
        let refs: Vec<&Op> = now.iter().collect();
        undo.extend(plan::inverses(&refs, &model)?);
        simulate::apply_all(&mut model, &now)?;
    }
    Ok(undo.into_iter().rev().flatten().collect())
}

/// Runs `ops` in order against the current state, pipelining independent
/// ops, and stops after the first batch in which an op fails. Nothing is
/// undone here; see [`super::apply`] for the transactional version.
pub async fn execute(handle: &Handle, ops: &[Op]) -> Execution {
    let kernel = &mut Live::new(handle);
    match kernel.dump().await {
        Ok(state) => run(kernel, ops, state, Mode::Plain).await,
        Err(e) => Execution {
            failures: vec![e.into()],
            ..Execution::default()
        },
    }
}

/// Runs `ops` starting from `state` (a fresh dump). The kernel is dumped
/// again only when a batch refers to links created or deleted since the
/// last dump (their ifindexes), or when the model loses track.
pub(crate) async fn run(
    kernel: &mut impl Kernel,
    ops: &[Op],
    state: KernelState,
    mode: Mode,
) -> Execution {
    let mut ex = Execution::default();
    let mut applied = Vec::new();
    let batches = batch::schedule(ops, &state);
    let mut view = View::new(state, mode == Mode::Transaction);
    for indexes in batches {
        let now: Vec<&Op> = indexes.iter().map(|&i| &ops[i]).collect();
        if view.stale_for(&now) {
            if let Err(e) = view.redump(kernel).await {
                ex.failures.push(e);
                break;
            }
        }
        let undo: Result<Vec<Vec<Op>>, plan::PlanError> = match &view.model {
            Some(before) => plan::inverses(&now, before),
            None => Ok(vec![Vec::new(); now.len()]),
        };
        let undo = match undo {
            Ok(u) => u,
            Err(e) => {
                ex.failures.push(e.into());
                break;
            }
        };
        let sent = kernel.send(&now, &view.known).await;
        ex.writes += sent.writes;
        let failed = !sent.failures.is_empty();
        ex.failures
            .extend(sent.failures.into_iter().map(EngineError::from));
        let (mut touched, mut done) = (Vec::new(), Vec::new());
        for (((i, op), u), progress) in indexes.iter().zip(&now).zip(undo).zip(sent.ops) {
            if progress.touched {
                ex.undo.push(u);
                touched.push(*op);
            }
            if progress.done {
                applied.push(*i);
                done.push(*op);
            }
        }
        if failed && mode != Mode::Rollback {
            break;
        }
        if !view.advance(&touched, &done) {
            if let Err(e) = view.redump(kernel).await {
                ex.failures.push(e);
                break;
            }
        }
    }
    // Reported in plan order; the undo log keeps the order of execution.
    applied.sort_unstable();
    ex.applied = applied.into_iter().map(|i| ops[i].clone()).collect();
    ex
}

#[cfg(test)]
mod tests {
    use nix::errno::Errno;

    use super::*;
    use crate::engine::sim::{Fault, Sim};
    use crate::kinds::MacvlanMode;
    use crate::plan::fixture::{bare, desired, synced};

    fn macvlan(name: &str) -> Op {
        Op::CreateLink {
            name: name.into(),
            kind: LinkKind::Macvlan {
                parent: "eth3".into(),
                mode: MacvlanMode::Bridge,
            },
            mtu: None,
            mac: None,
        }
    }

    fn up(name: &str) -> Op {
        Op::SetUp { name: name.into() }
    }

    /// Create a and b, then bring both up: two batches.
    fn two_waves() -> Vec<Op> {
        vec![macvlan("a"), up("a"), macvlan("b"), up("b")]
    }

    #[tokio::test]
    async fn batches_follow_the_schedule_and_new_links_are_read_back() {
        let mut sim = Sim::new(synced());
        let ex = run(&mut sim, &two_waves(), synced(), Mode::Plain).await;
        assert!(ex.succeeded(), "{:?}", ex.failures);
        assert_eq!(
            sim.batches,
            [vec![macvlan("a"), macvlan("b")], vec![up("a"), up("b")]]
        );
        assert_eq!((ex.writes, ex.applied.len()), (4, 4));
        // The second batch names links the first created: their ifindexes
        // come from one dump.
        assert_eq!(sim.dumps, 1);
        assert!(ex.undo_ops().is_empty());
    }

    #[tokio::test]
    async fn ops_on_known_links_need_no_dump() {
        let ops = [
            up("eth3"),
            Op::SetMtu {
                name: "eth3".into(),
                mtu: 1400,
            },
        ];
        let mut sim = Sim::new(synced());
        let ex = run(&mut sim, &ops, synced(), Mode::Transaction).await;
        assert!(ex.succeeded(), "{:?}", ex.failures);
        assert_eq!((sim.batches.len(), sim.dumps), (2, 0));
    }

    #[tokio::test]
    async fn a_failing_batch_completes_its_other_ops_then_stops() {
        let mut sim = Sim::new(synced()).fault(macvlan("b"), Fault::Refuse(Errno::EEXIST));
        let ex = run(&mut sim, &two_waves(), synced(), Mode::Transaction).await;
        assert_eq!(sim.batches.len(), 1);
        assert_eq!(ex.applied, [macvlan("a")]);
        assert_eq!(ex.writes, 2);
        assert_eq!(ex.failures.len(), 1);
        assert_eq!(ex.failures[0].op(), Some(macvlan("b").to_string().as_str()));
        assert_eq!(
            ex.failures[0].kernel().map(|k| k.errno()),
            Some(Errno::EEXIST)
        );
        assert_eq!(ex.undo_ops(), [Op::DeleteLink { name: "a".into() }]);
    }

    #[tokio::test]
    async fn the_undo_log_undoes_the_last_change_first() {
        let mut sim = Sim::new(synced());
        let ex = run(&mut sim, &two_waves(), synced(), Mode::Transaction).await;
        assert!(ex.succeeded(), "{:?}", ex.failures);
        let undo = ex.undo_ops();
        let delete_a = Op::DeleteLink { name: "a".into() };
        let down_a = Op::SetDown { name: "a".into() };
        let at = |op: &Op| undo.iter().position(|u| u == op).unwrap();
        assert!(at(&down_a) < at(&delete_a), "{undo:?}");
        let ex = run(&mut sim, &undo, synced(), Mode::Rollback).await;
        assert!(ex.succeeded(), "{:?}", ex.failures);
        assert!(sim.state.link("a").is_none() && sim.state.link("b").is_none());
    }

    #[tokio::test]
    async fn a_rollback_carries_on_past_a_failure() {
        let mut sim = Sim::new(synced());
        run(&mut sim, &two_waves(), synced(), Mode::Plain).await;
        let undo = [up("missing"), Op::DeleteLink { name: "a".into() }];
        let now = sim.state.clone();
        let ex = run(&mut sim, &undo, now, Mode::Rollback).await;
        assert_eq!(ex.failures.len(), 1);
        assert!(sim.state.link("a").is_none());
    }

    #[tokio::test]
    async fn the_undo_log_known_before_the_writes_is_the_executors() {
        let ops = plan::plan(&desired(), &bare()).unwrap().ops;
        let mut sim = Sim::new(bare());
        let ex = run(&mut sim, &ops, bare(), Mode::Transaction).await;
        assert!(ex.succeeded(), "{:?}", ex.failures);
        assert_eq!(undo_log(&ops, &bare()).unwrap(), ex.undo_ops());
    }

    #[tokio::test]
    async fn an_op_that_cannot_be_undone_does_not_run() {
        let irreversible = Op::DeleteLink {
            name: "eth0".into(),
        };
        let mut sim = Sim::new(synced());
        let ex = run(&mut sim, &[irreversible], synced(), Mode::Transaction).await;
        assert!(matches!(ex.failures[..], [EngineError::Plan(_)]));
        assert!(sim.batches.is_empty());
    }
}
