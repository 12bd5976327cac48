//! Which ops go out together, and in which order.
//!
//! The kernel handles the messages of a datagram strictly in order, so even
//! dependent requests would *succeed* in one datagram. What forbids it is
//! failure: the kernel carries on after a refusal, so a request that depends
//! on a refused one would then fail too, or worse, act on something else
//! (a foreign link of the same name). So a batch only holds ops of which none
//! touches what another one changes: a failure stays confined to its own op,
//! which is what lets the undo log invert exactly the ops that succeeded.
//!
//! Ops that conflict keep the plan's order; independent ops commute, so they
//! are grouped into waves (an op runs in the wave after the last op it
//! conflicts with). A planner that emits "create a, set a up, create b, set b
//! up" thus costs two round trips, not four.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::desired::LinkKind;
use crate::plan::{BondChange, Op};
use crate::state::KernelState;

/// Most ops per datagram. Keeps each datagram and the burst of acks it
/// causes far below the socket buffers (acks that do not fit are lost).
pub(crate) const MAX_BATCH: usize = 64;

/// Something an op reads or changes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Res {
    /// That a link of this name exists (what an address needs).
    Exists(String),
    /// A link's flags, attributes and membership (what a route needs: a
    /// gateway route through a down link is refused).
    Link(String),
    /// One address of a link.
    Addr(String, IpNet),
    /// Every address of a link (what a route through it relies on).
    AddrsOf(String),
    /// The main-table route to a destination.
    Route(IpNet),
    /// An on-link route (no gateway): what makes a gateway reachable.
    OnLink(IpNet),
    /// Whatever on-link route covers a gateway (a route through it relies
    /// on that; a route through another gateway never makes one reachable).
    RouteTo(IpAddr),
}

/// Each link's lower links and masters, in the snapshot or at any point of
/// the plan (a superset is safe: it only orders more).
struct Relations(HashMap<String, Vec<String>>);

impl Relations {
    fn new(ops: &[Op], state: &KernelState) -> Self {
        let mut r = Relations(HashMap::new());
        for l in &state.links {
            for other in [&l.parent, &l.master].into_iter().flatten() {
                r.add(&l.name, other);
            }
        }
        for op in ops {
            match op {
                Op::CreateLink {
                    name,
                    kind:
                        LinkKind::Vlan { parent, .. }
                        | LinkKind::Macvlan { parent, .. }
                        | LinkKind::Ipvlan { parent, .. },
                    ..
                } => r.add(name, parent),
                Op::SetMaster { port, bond } => r.add(port, bond),
                _ => {}
            }
        }
        r
    }

    fn add(&mut self, name: &str, other: &str) {
        self.0
            .entry(name.to_owned())
            .or_default()
            .push(other.to_owned());
    }

    fn of(&self, name: &str) -> &[String] {
        self.0.get(name).map_or(&[], Vec::as_slice)
    }
}

#[derive(Debug, Default)]
struct Footprint {
    reads: Vec<Res>,
    writes: Vec<Res>,
}

impl Footprint {
    fn read_link(&mut self, name: &str) {
        self.reads.push(Res::Link(name.to_owned()));
    }

    /// Creating or deleting a link.
    fn write_existence(&mut self, name: &str, rel: &Relations) {
        self.writes.push(Res::Exists(name.to_owned()));
        self.write_link(name, rel);
    }

    fn write_link(&mut self, name: &str, rel: &Relations) {
        self.writes.push(Res::Link(name.to_owned()));
        // A link's lower link and master constrain it (a VLAN's MTU, a
        // port's flags): order against ops on them.
        for other in rel.of(name) {
            self.read_link(other);
        }
    }

    /// Adding (`adding`) or deleting a route.
    fn route(
        &mut self,
        destination: IpNet,
        link: Option<&str>,
        gateway: Option<IpAddr>,
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

fn footprint(op: &Op, rel: &Relations) -> Footprint {
    let mut f = Footprint::default();
    match op {
        Op::CreateLink { name, kind, .. } => {
            f.write_existence(name, rel);
            if let LinkKind::Bond(o) = kind {
                if let Some(p) = &o.primary {
                    f.read_link(p);
                }
            }
        }
        Op::SetBondOptions { bond, changes } => {
            f.write_link(bond, rel);
            for c in changes {
                if let BondChange::Primary(Some(p)) = c {
                    f.read_link(p);
                }
            }
        }
        Op::DeleteLink { name } => f.write_existence(name, rel),
        Op::SetMacvlanMode { name, .. }
        | Op::SetUp { name }
        | Op::SetDown { name }
        | Op::SetMtu { name, .. }
        | Op::SetAlias { name, .. }
        | Op::DisableIpv6Auto { name }
        | Op::EnableIpv6Auto { name, .. }
        | Op::ReleasePort { port: name } => f.write_link(name, rel),
        Op::SetMaster { port, bond } => {
            f.write_link(port, rel);
            f.write_link(bond, rel);
        }
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

/// The wave of every resource's latest writer and latest user so far, and
/// the two relations between different resources.
#[derive(Default)]
struct Waves {
    written: HashMap<Res, usize>,
    used: HashMap<Res, usize>,
    /// Per link: latest wave that wrote one of its addresses / read them all.
    addr_written: HashMap<String, usize>,
    addrs_read: HashMap<String, usize>,
    on_link_written: Vec<(IpNet, usize)>,
    route_to_read: Vec<(IpAddr, usize)>,
}

impl Waves {
    /// The first wave `f` may run in: after every earlier op it conflicts
    /// with (a write after any use, a read after any write).
    fn wave_of(&self, f: &Footprint) -> usize {
        let after = |w: Option<&usize>| w.map_or(0, |w| w + 1);
        let mut wave = 0;
        for w in &f.writes {
            wave = wave.max(after(self.used.get(w)));
            match w {
                Res::Addr(l, _) => wave = wave.max(after(self.addrs_read.get(l))),
                Res::OnLink(d) => {
                    for (g, at) in &self.route_to_read {
                        if d.contains(g) {
                            wave = wave.max(at + 1);
                        }
                    }
                }
                _ => {}
            }
        }
        for r in &f.reads {
            wave = wave.max(after(self.written.get(r)));
            match r {
                Res::AddrsOf(l) => wave = wave.max(after(self.addr_written.get(l))),
                Res::RouteTo(g) => {
                    for (d, at) in &self.on_link_written {
                        if d.contains(g) {
                            wave = wave.max(at + 1);
                        }
                    }
                }
                _ => {}
            }
        }
        wave
    }

    fn record(&mut self, f: Footprint, wave: usize) {
        let raise = |map: &mut HashMap<Res, usize>, r: &Res| {
            let w = map.entry(r.clone()).or_default();
            *w = (*w).max(wave);
        };
        for w in &f.writes {
            raise(&mut self.written, w);
            raise(&mut self.used, w);
            match w {
                Res::Addr(l, _) => {
                    let at = self.addr_written.entry(l.clone()).or_default();
                    *at = (*at).max(wave);
                }
                Res::OnLink(d) => self.on_link_written.push((*d, wave)),
                _ => {}
            }
        }
        for r in &f.reads {
            raise(&mut self.used, r);
            match r {
                Res::AddrsOf(l) => {
                    let at = self.addrs_read.entry(l.clone()).or_default();
                    *at = (*at).max(wave);
                }
                Res::RouteTo(g) => self.route_to_read.push((*g, wave)),
                _ => {}
            }
        }
    }
}

/// The batches to send, in order, as indexes into `ops`: every op comes
/// after the ops it conflicts with, each batch holds ops of one wave in plan
/// order, at most [`MAX_BATCH`] of them.
pub(crate) fn schedule(ops: &[Op], state: &KernelState) -> Vec<Vec<usize>> {
    let rel = Relations::new(ops, state);
    let mut waves = Waves::default();
    let mut by_wave: Vec<Vec<usize>> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let f = footprint(op, &rel);
        let wave = waves.wave_of(&f);
        waves.record(f, wave);
        if by_wave.len() <= wave {
            by_wave.resize_with(wave + 1, Vec::new);
        }
        by_wave[wave].push(i);
    }
    by_wave
        .into_iter()
        .flat_map(|w| {
            w.chunks(MAX_BATCH)
                .map(<[usize]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desired::DesiredRoute;
    use crate::kinds::MacvlanMode;
    use crate::plan::fixture::nic;
    use crate::plan::RouteKey;

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn state() -> KernelState {
        let mut eth1 = nic(3, "eth1", true);
        eth1.master = Some("bond0".into());
        let mut mv0 = nic(5, "mv0", true);
        mv0.parent = Some("eth0".into());
        KernelState {
            links: vec![nic(2, "eth0", true), eth1, nic(4, "bond0", true), mv0],
            ..KernelState::default()
        }
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
            address: a.parse().unwrap(),
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

    /// Sizes of the batches `ops` are sent in.
    fn batches(ops: &[Op]) -> Vec<usize> {
        schedule(ops, &state()).iter().map(Vec::len).collect()
    }

    #[test]
    fn independent_creations_share_a_datagram() {
        assert_eq!(batches(&[macvlan("a"), macvlan("b"), macvlan("c")]), [3]);
    }

    #[test]
    fn an_interleaved_plan_is_regrouped_into_waves() {
        let ops = [macvlan("a"), up("a"), macvlan("b"), up("b")];
        assert_eq!(schedule(&ops, &state()), [vec![0, 2], vec![1, 3]]);
    }

    #[test]
    fn links_the_plan_creates_are_ordered_against_their_parents() {
        let on = |name: &str, parent: &str| Op::CreateLink {
            name: name.into(),
            kind: LinkKind::Macvlan {
                parent: parent.into(),
                mode: MacvlanMode::Bridge,
            },
            mtu: None,
            mac: None,
        };
        let mtu = |name: &str| Op::SetMtu {
            name: name.into(),
            mtu: 1400,
        };
        let ops = [on("new0", "eth0"), on("c", "new0"), mtu("new0"), mtu("c")];
        assert_eq!(batches(&ops), [1, 1, 1, 1]);
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
        // The third route's gateway is not on the new on-link route: it
        // goes out with the first.
        assert_eq!(schedule(&ops, &state()), [vec![0, 2], vec![1]]);
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
