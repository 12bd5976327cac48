//! Resuming an undo log that a crash cut short.
//!
//! A revert runs an undo log as a transaction of its own, but a process
//! killed in the middle of it (n3xnetctl's watcher, an operator's
//! `rollback`, n3xnetd reverting at its start) leaves the kernel somewhere between
//! the change and the state before it. Running the whole log again would
//! fail on its first op already done (`EEXIST` on a link it created,
//! `ENODEV` on one it deleted) and roll back, leaving the node stuck on
//! half a revert. [`unfinished`] finds what is left: it walks the log over
//! the kernel model from the state as it is now and drops each op the
//! model refuses *because its effect is already there*: the state a run of
//! the same log leaves behind. Every other op stays, including those the
//! model refuses for another reason, so the executor reports those as the
//! kernel answers them, never hiding a real conflict.
//!
//! On a state the log has not touched yet nothing is dropped: the undo log
//! is computed so that each of its ops changes the state it runs on.

use crate::state::KernelState;

use super::error::SimError;
use super::op::Op;
use super::simulate;

/// The ops of `log` still to run on `now`, in order.
pub fn unfinished(log: &[Op], now: &KernelState) -> Vec<Op> {
    let mut model = now.clone();
    log.iter()
        .enumerate()
        .filter(|(i, op)| match simulate::apply(&mut model, op) {
            Ok(()) => true,
            Err(e) => !already_done(op, &e, &model, &log[i + 1..]),
        })
        .map(|(_, op)| op.clone())
        .collect()
}

/// Whether the model refused `op` because what it does is already so, or
/// because the link it configures is gone and the log deletes that link
/// further on (the deletion ran before the cut, taking the op's work
/// with it).
fn already_done(op: &Op, refusal: &SimError, s: &KernelState, later: &[Op]) -> bool {
    if let SimError::NoLink(gone) = refusal {
        if later
            .iter()
            .any(|l| matches!(l, Op::DeleteLink { name } if name == gone))
        {
            return true;
        }
    }
    match (op, refusal) {
        (Op::CreateLink { name, .. }, SimError::LinkExists(n)) => n == name,
        (Op::DeleteLink { name }, SimError::NoLink(n)) => n == name,
        (Op::AddAddress { .. } | Op::RestoreAddress { .. }, SimError::AddressExists { .. }) => true,
        (Op::DeleteAddress { link, .. }, SimError::NoAddress { link: l, .. }) => l == link,
        (Op::AddRoute { route }, SimError::RouteExists { .. }) => {
            route_present(s, &simulate::added_route(route))
        }
        (Op::RestoreRoute { route }, SimError::RouteExists { .. }) => route_present(s, route),
        (Op::DeleteRoute { .. }, SimError::NoRoute) => true,
        (Op::ReleasePort { .. }, SimError::NotEnslaved { .. }) => true,
        _ => false,
    }
}

/// A route in `route`'s slot with its gateway and link: the same route,
/// not another one holding the slot.
fn route_present(s: &KernelState, route: &crate::state::Route) -> bool {
    let key = simulate::route_key(route);
    s.routes.iter().any(|r| simulate::route_key(r) == key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::fixture::{
        apply_with_undo, bare, desired, desired_from, normalized, synced, PROFILE,
    };
    use crate::plan::plan;

    /// Cut the revert after each of its ops in turn: what is left, run on
    /// what the cut left behind, always ends exactly at the state before
    /// the change; and on the untouched change nothing is dropped.
    fn resumes_after_every_cut(before: &KernelState, ops: &[Op]) {
        let mut changed = before.clone();
        let undo = apply_with_undo(&mut changed, ops);
        assert!(!undo.is_empty());
        assert_eq!(unfinished(&undo, &changed), undo);
        for cut in 0..=undo.len() {
            let mut now = changed.clone();
            simulate::apply_all(&mut now, &undo[..cut]).unwrap();
            let rest = unfinished(&undo, &now);
            simulate::apply_all(&mut now, &rest)
                .unwrap_or_else(|e| panic!("cut after {cut} of {}: {e}\n{rest:#?}", undo.len()));
            assert_eq!(normalized(&now), normalized(before), "cut after {cut}");
        }
    }

    /// The fixture's cluster VLAN moved from VID 200 to 201.
    fn moved_vlan() -> crate::desired::DesiredNetwork {
        desired_from(
            &PROFILE
                .replace("cluster = 200", "cluster = 201")
                .replace("bond0.200", "bond0.201"),
        )
    }

    #[test]
    fn a_revert_of_a_whole_node_resumes_after_any_op() {
        let before = bare();
        let ops = plan(&desired(), &before).unwrap().ops;
        resumes_after_every_cut(&before, &ops);
    }

    #[test]
    fn a_revert_of_a_moved_vlan_resumes_after_any_op() {
        // The cluster VLAN moved to another VID: the old VLAN deleted with
        // its addresses and routes, a new one made. Undone, the old one is
        // made again and the new one deleted.
        let before = synced();
        let ops = plan(&moved_vlan(), &before).unwrap().ops;
        resumes_after_every_cut(&before, &ops);
    }

    #[test]
    fn a_conflict_that_is_not_the_log_s_own_work_is_kept() {
        // Someone else's route holds the slot a restored route needs: the
        // op stays for the kernel to refuse, it is not taken as done.
        let before = synced();
        let ops = plan(&moved_vlan(), &before).unwrap().ops;
        let mut changed = before.clone();
        let undo = apply_with_undo(&mut changed, &ops);
        let restore = undo
            .iter()
            .position(|op| matches!(op, Op::AddRoute { .. } | Op::RestoreRoute { .. }))
            .expect("the undo log restores a route");
        let mut now = changed.clone();
        simulate::apply_all(&mut now, &undo[..restore]).unwrap();
        let mut other = match &undo[restore] {
            Op::AddRoute { route } => simulate::added_route(route),
            Op::RestoreRoute { route } => route.clone(),
            _ => unreachable!(),
        };
        other.gateway = Some("192.168.100.253".parse().unwrap());
        other.link = Some("bond0.100".into());
        now.routes.push(other);
        assert!(unfinished(&undo, &now).contains(&undo[restore]));
    }
}
