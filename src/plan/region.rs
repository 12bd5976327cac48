//! The part of a [`KernelState`] a few ops can read or change in the kernel
//! model ([`super::simulate`]), so the undo log can model each op on a small
//! copy instead of the whole state: copying everything per op made the undo
//! log quadratic in the number of links.
//!
//! What [`simulate`](super::simulate) reads and changes for an op on link X:
//!
//! - X itself;
//! - what the kernel's cascades reach from X: links stacked on X and X's
//!   bond ports, transitively (closed, clamped, deleted, released);
//! - what its checks read above X: the parent's MTU and admin state, the
//!   bond's MTU, along the chains of parents and masters;
//! - the addresses and routes of all those links;
//! - every route in a slot (destination and metric) that one of those
//!   routes or the ops could take, since a route add is refused when its
//!   slot is taken on any link.
//!
//! Links that an op only reads (the parent of a created link, the bond of
//! `SetMaster`) bring no cascade, so a thousand shims on one NIC do not all
//! come along with each.

use std::collections::HashSet;

use ipnet::IpNet;

use crate::desired::LinkKind;
use crate::state::{KernelState, Route};

use super::op::Op;
use super::simulate::same_slot;

/// A copy of what running `ops` in order, then changing the admin state,
/// MTU and routes of the links `settled`, can read or change in `state`.
/// Links keep their relative order.
pub fn region(state: &KernelState, ops: &[&Op], settled: &[String]) -> KernelState {
    let mut acted: Vec<&str> = ops.iter().map(|op| op.link()).collect();
    acted.extend(settled.iter().map(String::as_str));
    let mut names = below(state, &acted);
    let read = ops.iter().filter_map(|op| match op {
        Op::CreateLink {
            kind:
                LinkKind::Vlan { parent, .. }
                | LinkKind::Macvlan { parent, .. }
                | LinkKind::Ipvlan { parent, .. },
            ..
        } => Some(parent.as_str()),
        Op::SetMaster { bond, .. } => Some(bond.as_str()),
        _ => None,
    });
    let mut up: Vec<&str> = names.list.iter().copied().chain(read).collect();
    while let Some(name) = up.pop() {
        let Some(l) = state.link(name) else { continue };
        names.insert(&l.name);
        up.extend(
            [&l.parent, &l.master]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .filter(|n| !names.contains(n)),
        );
    }

    let on = |link: Option<&String>| link.is_some_and(|l| names.contains(l));
    let mut slots: Vec<(IpNet, Option<u32>)> = state
        .routes
        .iter()
        .filter(|r| on(r.link.as_ref()))
        .map(|r| (r.destination, r.metric))
        .collect();
    slots.extend(ops.iter().filter_map(|op| match op {
        Op::AddRoute { route } => Some((route.destination, route.metric)),
        Op::RestoreRoute { route } => Some((route.destination, route.metric)),
        _ => None,
    }));
    let in_slot = |r: &Route| slots.iter().any(|&(d, m)| same_slot(r, d, m));
    KernelState {
        links: state
            .links
            .iter()
            .filter(|l| names.contains(&l.name))
            .cloned()
            .collect(),
        addresses: state
            .addresses
            .iter()
            .filter(|a| names.contains(&a.link))
            .cloned()
            .collect(),
        routes: state
            .routes
            .iter()
            .filter(|r| on(r.link.as_ref()) || in_slot(r))
            .cloned()
            .collect(),
    }
}

/// `acted` (those that exist) with every link stacked on or enslaved to
/// them, transitively.
fn below<'a>(state: &'a KernelState, acted: &[&str]) -> Names<'a> {
    let mut names = Names::default();
    let wanted = Names::of(acted);
    let mut frontier: Vec<&str> = state
        .links
        .iter()
        .map(|l| l.name.as_str())
        .filter(|n| wanted.contains(n) && names.insert(n))
        .collect();
    // One pass per level of stacking, looking for what hangs from the
    // links the last pass found.
    while !frontier.is_empty() {
        let looking = Names::of(&frontier);
        frontier = state
            .links
            .iter()
            .filter(|l| {
                [&l.parent, &l.master]
                    .into_iter()
                    .flatten()
                    .any(|n| looking.contains(n))
            })
            .map(|l| l.name.as_str())
            .filter(|n| names.insert(n))
            .collect();
    }
    names
}

/// A set of link names, searched in order while it is small: a region
/// mostly holds a link or two, and hashing every name of a large state for
/// each op cost more than the copying it replaced.
#[derive(Default)]
struct Names<'a> {
    list: Vec<&'a str>,
    /// The same names, once there are more than [`Names::LINEAR`].
    set: Option<HashSet<&'a str>>,
}

impl<'a> Names<'a> {
    const LINEAR: usize = 16;

    /// The set of `names`.
    fn of(names: &[&'a str]) -> Self {
        let mut set = Names::default();
        for n in names {
            set.insert(n);
        }
        set
    }

    fn contains(&self, name: &str) -> bool {
        match &self.set {
            Some(set) => set.contains(name),
            None => self.list.contains(&name),
        }
    }

    /// Adds `name`; `false` when it was there already.
    fn insert(&mut self, name: &'a str) -> bool {
        if self.contains(name) {
            return false;
        }
        self.list.push(name);
        match &mut self.set {
            Some(set) => {
                set.insert(name);
            }
            None if self.list.len() > Self::LINEAR => {
                self.set = Some(self.list.iter().copied().collect());
            }
            None => {}
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_answer_alike_before_and_after_they_grow_a_hash_set() {
        let all: Vec<String> = (0..40).map(|i| format!("mv{i}")).collect();
        let mut names = Names::default();
        for (i, n) in all.iter().enumerate() {
            assert!(!names.contains(n));
            assert!(names.insert(n), "{n}");
            assert!(!names.insert(n), "{n} twice");
            assert_eq!(names.set.is_some(), i >= Names::LINEAR, "{i}");
            assert!(all[..=i].iter().all(|m| names.contains(m)));
            assert!(!names.contains("mv40"));
        }
        assert_eq!(names.list.len(), all.len());
    }
}
