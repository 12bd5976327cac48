//! Which ops may share one datagram.
//!
//! The kernel handles the messages of a datagram strictly in order, so even
//! dependent requests would *succeed* in one datagram. What forbids it is
//! failure: the kernel carries on after a refusal, so a request that depends
//! on a refused one would then fail too, or worse, act on something else
//! (a foreign link of the same name). Ops are therefore batched only when
//! none touches what another one changes, and a failure stays confined to
//! its own op, which is what lets the undo log invert exactly the ops that
//! succeeded.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::desired::LinkKind;
use crate::plan::{BondChange, Op};
use crate::state::KernelState;

/// Most ops per datagram. Keeps each datagram and the burst of acks it
/// causes far below the socket buffers (acks that do not fit are lost).
pub(crate) const MAX_BATCH: usize = 64;

/// Something an op reads or changes.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Res {
    /// That a link of this name exists (what an address needs).
    Exists(String),
    /// A link's flags, attributes and membership (what a route needs: a
    /// gateway route through a down link is refused).
    Link(String),
    /// One IPv4 address of a link.
    Addr(String, Ipv4Net),
    /// Every address of a link (what a route through it relies on).
    AddrsOf(String),
    /// The main-table route to a destination.
    Route(Ipv4Net),
    /// An on-link route (no gateway): what makes a gateway reachable.
    OnLink(Ipv4Net),
    /// Whatever on-link route covers a gateway (a route through it relies
    /// on that; a route through another gateway never makes one reachable).
    RouteTo(Ipv4Addr),
}

fn overlap(a: &Res, b: &Res) -> bool {
    match (a, b) {
        (Res::Addr(l, _), Res::AddrsOf(m)) | (Res::AddrsOf(m), Res::Addr(l, _)) => l == m,
        (Res::OnLink(d), Res::RouteTo(g)) | (Res::RouteTo(g), Res::OnLink(d)) => d.contains(g),
        _ => a == b,
    }
}

#[derive(Debug, Default)]
struct Footprint {
    reads: Vec<Res>,
    writes: Vec<Res>,
}

impl Footprint {
    fn conflicts(&self, other: &Footprint) -> bool {
        let hits = |writes: &[Res], accessed: &[Res]| {
            accessed
                .iter()
                .any(|r| writes.iter().any(|w| overlap(w, r)))
        };
        hits(&self.writes, &other.reads)
            || hits(&self.writes, &other.writes)
            || hits(&other.writes, &self.reads)
    }

    fn read_link(&mut self, name: &str) {
        self.reads.push(Res::Link(name.to_owned()));
    }

    /// Creating or deleting a link.
    fn write_existence(&mut self, name: &str, state: &KernelState) {
        self.writes.push(Res::Exists(name.to_owned()));
        self.write_link(name, state);
    }

    fn write_link(&mut self, name: &str, state: &KernelState) {
        self.writes.push(Res::Link(name.to_owned()));
        // A link's lower link and master constrain it (a VLAN's MTU, a
        // port's flags): order against ops on them.
        if let Some(l) = state.link(name) {
            for related in [&l.parent, &l.master].into_iter().flatten() {
                self.read_link(related);
            }
        }
    }

    /// Adding (`adding`) or deleting a route.
    fn route(
        &mut self,
        destination: Ipv4Net,
        link: Option<&str>,
        gateway: Option<Ipv4Addr>,
        adding: bool,
    ) {
        self.writes.push(Res::Route(destination));
        if gateway.is_none() {
            self.writes.push(Res::OnLink(destination));
        }
        if let Some(link) = link {
            self.read_link(link);
            self.reads.push(Res::AddrsOf(link.to_owned()));
        }
        if let Some(g) = gateway.filter(|_| adding) {
            self.reads.push(Res::RouteTo(g));
        }
    }
}

fn footprint(op: &Op, state: &KernelState) -> Footprint {
    let mut f = Footprint::default();
    match op {
        Op::CreateLink { name, kind, .. } => {
            f.write_existence(name, state);
            match kind {
                LinkKind::Vlan { parent, .. }
                | LinkKind::Macvlan { parent, .. }
                | LinkKind::Ipvlan { parent, .. } => f.read_link(parent),
                LinkKind::Bond(o) => {
                    if let Some(p) = &o.primary {
                        f.read_link(p);
                    }
                }
                LinkKind::Ethernet => {}
            }
        }
        Op::SetBondOptions { bond, changes } => {
            f.write_link(bond, state);
            for c in changes {
                if let BondChange::Primary(Some(p)) = c {
                    f.read_link(p);
                }
            }
        }
        Op::DeleteLink { name } => f.write_existence(name, state),
        Op::SetMacvlanMode { name, .. }
        | Op::SetUp { name }
        | Op::SetDown { name }
        | Op::SetMtu { name, .. }
        | Op::DisableIpv6Auto { name }
        | Op::EnableIpv6Auto { name } => f.write_link(name, state),
        Op::SetMaster { port, bond } => {
            f.write_link(port, state);
            f.write_link(bond, state);
        }
        Op::ReleasePort { port } => f.write_link(port, state),
        Op::AddAddress { link, address } | Op::DeleteAddress { link, address } => {
            f.reads.push(Res::Exists(link.clone()));
            f.writes.push(Res::Addr(link.clone(), *address));
        }
        Op::RestoreAddress { address } => {
            f.reads.push(Res::Exists(address.link.clone()));
            f.writes
                .push(Res::Addr(address.link.clone(), address.address));
        }
        Op::AddRoute { route } => {
            f.route(route.destination, Some(&route.link), route.gateway, true)
        }
        Op::DeleteRoute { route } => {
            f.route(route.destination, Some(&route.link), route.gateway, false)
        }
        Op::RestoreRoute { route } => f.route(
            route.destination,
            route.link.as_deref(),
            route.gateway,
            true,
        ),
    }
    f
}

/// How many ops from the front of `ops` may go out together: the longest
/// prefix (at most [`MAX_BATCH`], at least one op) in which no op conflicts
/// with an earlier one.
pub(crate) fn next_batch(ops: &[Op], state: &KernelState) -> usize {
    let mut taken: Vec<Footprint> = Vec::new();
    for op in ops.iter().take(MAX_BATCH) {
        let f = footprint(op, state);
        if taken.iter().any(|t| t.conflicts(&f)) {
            break;
        }
        taken.push(f);
    }
    taken.len().max(1).min(ops.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::DesiredRoute;
    use crate::netlink::fixtures::{self, link};
    use crate::plan::RouteKey;
    use crate::profile::model::MacvlanMode;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    fn state() -> KernelState {
        let mut eth1 = link(3, "eth1");
        eth1.master = Some("bond0".into());
        let mut mv0 = link(5, "mv0");
        mv0.parent = Some("eth0".into());
        fixtures::state(vec![link(2, "eth0"), eth1, link(4, "bond0"), mv0])
    }

    fn macvlan(name: &str) -> Op {
        Op::CreateLink {
            name: name.into(),
            kind: LinkKind::Macvlan {
                parent: "eth0".into(),
                mode: MacvlanMode::Bridge,
            },
            mtu: None,
            mac: None,
        }
    }

    fn add(link: &str, a: &str) -> Op {
        Op::AddAddress {
            link: link.into(),
            address: net(a),
        }
    }

    fn route(dst: &str, gw: Option<&str>, link: &str) -> Op {
        Op::AddRoute {
            route: DesiredRoute {
                destination: net(dst),
                gateway: gw.map(|g| g.parse().unwrap()),
                link: link.into(),
                metric: None,
            },
        }
    }

    fn up(name: &str) -> Op {
        Op::SetUp { name: name.into() }
    }

    /// Sizes of the consecutive batches `ops` split into.
    fn batches(ops: &[Op]) -> Vec<usize> {
        let s = state();
        let mut rest = ops;
        let mut out = Vec::new();
        while !rest.is_empty() {
            let n = next_batch(rest, &s);
            out.push(n);
            rest = &rest[n..];
        }
        out
    }

    #[test]
    fn independent_creations_share_a_datagram() {
        assert_eq!(batches(&[macvlan("a"), macvlan("b"), macvlan("c")]), [3]);
    }

    #[test]
    fn a_link_is_created_before_it_is_brought_up() {
        assert_eq!(
            batches(&[macvlan("a"), macvlan("b"), up("a"), up("b")]),
            [2, 2]
        );
    }

    #[test]
    fn a_new_link_gets_its_addresses_while_it_comes_up() {
        assert_eq!(
            batches(&[
                macvlan("a"),
                up("a"),
                add("a", "10.0.0.2/24"),
                route("0.0.0.0/0", Some("10.0.0.1"), "a")
            ]),
            [1, 2, 1]
        );
        let delete = Op::DeleteLink { name: "mv0".into() };
        assert_eq!(batches(&[add("mv0", "10.0.0.2/24"), delete]), [1, 1]);
    }

    #[test]
    fn addresses_of_one_link_pipeline_but_a_route_waits_for_them() {
        let ops = [
            add("eth0", "10.0.0.2/24"),
            add("eth0", "10.0.1.2/24"),
            add("mv0", "10.0.2.2/24"),
            route("10.9.0.0/16", Some("10.0.0.1"), "eth0"),
            route("10.8.0.0/16", Some("10.0.1.1"), "eth0"),
        ];
        assert_eq!(batches(&ops), [3, 2]);
    }

    #[test]
    fn a_route_waits_for_the_route_to_its_gateway() {
        let ops = [
            route("192.168.50.0/24", None, "eth0"),
            route("10.0.0.0/8", Some("192.168.50.1"), "mv0"),
            route("172.16.0.0/12", Some("192.168.60.1"), "mv0"),
        ];
        assert_eq!(batches(&ops), [1, 2]);
    }

    #[test]
    fn routes_through_gateways_do_not_wait_for_the_default_route() {
        let ops = [
            route("0.0.0.0/0", Some("10.0.0.1"), "eth0"),
            route("10.9.0.0/16", Some("10.0.0.1"), "eth0"),
            route("10.8.0.0/16", Some("10.0.0.2"), "eth0"),
        ];
        assert_eq!(batches(&ops), [3]);
    }

    #[test]
    fn replacing_a_route_deletes_first() {
        let ops = [
            Op::DeleteRoute {
                route: RouteKey {
                    destination: net("0.0.0.0/0"),
                    gateway: Some("10.0.0.1".parse().unwrap()),
                    link: "eth0".into(),
                    metric: None,
                },
            },
            route("0.0.0.0/0", Some("10.0.0.254"), "eth0"),
        ];
        assert_eq!(batches(&ops), [1, 1]);
    }

    #[test]
    fn ops_on_a_lower_link_or_master_are_ordered() {
        // mv0 sits on eth0; eth1 is a port of bond0.
        assert_eq!(
            batches(&[
                Op::SetMtu {
                    name: "eth0".into(),
                    mtu: 9000
                },
                Op::SetMtu {
                    name: "mv0".into(),
                    mtu: 9000
                }
            ]),
            [1, 1]
        );
        assert_eq!(batches(&[up("bond0"), up("eth1")]), [1, 1]);
        assert_eq!(batches(&[up("eth0"), up("bond0")]), [2]);
    }

    #[test]
    fn enslaving_orders_against_the_bond_and_each_other() {
        let ops = [
            Op::SetMaster {
                port: "eth0".into(),
                bond: "bond0".into(),
            },
            Op::SetMaster {
                port: "mv0".into(),
                bond: "bond0".into(),
            },
        ];
        assert_eq!(batches(&ops), [1, 1]);
    }

    #[test]
    fn batches_are_capped() {
        let ops: Vec<Op> = (0..MAX_BATCH + 5)
            .map(|i| macvlan(&format!("m{i}")))
            .collect();
        assert_eq!(batches(&ops), [MAX_BATCH, 5]);
    }
}
