//! How links hang together in a [`KernelState`]: stacked children (VLAN,
//! macvlan, ipvlan on their parent) and bond ports.

use crate::state::{KernelState, Link};

/// Links stacked directly on `name`.
pub fn children<'a>(state: &'a KernelState, name: &'a str) -> impl Iterator<Item = &'a Link> {
    state
        .links
        .iter()
        .filter(move |l| l.parent.as_deref() == Some(name))
}

/// Every link stacked on `name`, directly or not, parents before children:
/// what the kernel deletes along with `name`.
pub fn descendants(state: &KernelState, name: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    let mut frontier = vec![name.to_string()];
    while let Some(parent) = frontier.get(i).cloned() {
        for c in children(state, &parent) {
            if c.name != name && !out.contains(&c.name) {
                out.push(c.name.clone());
                frontier.push(c.name.clone());
            }
        }
        i += 1;
    }
    out
}

/// The ports of bond `bond`, in the state's order.
pub fn ports<'a>(state: &'a KernelState, bond: &'a str) -> impl Iterator<Item = &'a Link> {
    state
        .links
        .iter()
        .filter(move |l| l.master.as_deref() == Some(bond))
}

/// How many parents stand below `name` (0 for a NIC or bond).
pub fn depth(state: &KernelState, name: &str) -> usize {
    let mut d = 0;
    let mut cur = state.link(name);
    while let Some(p) = cur.and_then(|l| l.parent.as_deref()) {
        d += 1;
        if d > state.links.len() {
            break; // a loop in a hand-written state; depth is meaningless then
        }
        cur = state.link(p);
    }
    d
}
