//! Test fixtures: a bonding-vlans node with a storage shim, a route, and
//! foreign objects around it, built by planning from bare NICs.

use crate::desired::DesiredNetwork;
use crate::profile::{self, Format};
pub use crate::state::fixtures::nic;
use crate::state::{Address, KernelState, Link, LinkInfo, OperState, Route};

use super::{diff, simulate};

pub const PROFILE: &str = r#"
serverApi = "https://192.168.200.1:6443"
clusterCidr = "10.42.0.0/16"
serviceCidr = "10.43.0.0/16"

[interfaces]
trunk = "bond0"
cluster = "bond0.200"
storage = "bond0.100"
bondMembers = ["eth1", "eth2"]

[vlanIds]
cluster = 200
storage = 100

[bondConfig]
mode = "active-backup"
primary = "eth1"
miimon = 100

[ipAddresses]
server-1 = { cluster = "192.168.200.1", storage = "192.168.100.1" }

[[routes]]
to = "10.50.0.0/16"
via = "192.168.100.254"

[multus.storage-net]
type = "macvlan"
master = "bond0.100"
subnet = "192.168.20.0/24"
hostInterface = "mv-storage"
hostAddresses = { server-1 = "192.168.20.1" }
"#;

pub fn desired() -> DesiredNetwork {
    desired_from(PROFILE)
}

pub fn desired_from(text: &str) -> DesiredNetwork {
    let p = profile::parse(text, Format::Toml).unwrap();
    profile::resolve(&p, "server-1").unwrap()
}

/// NICs only: management eth0 on a foreign lease, eth1/eth2 for the bond,
/// a spare eth3 (down).
pub fn bare() -> KernelState {
    let mut s = KernelState {
        links: vec![
            nic(2, "eth0", true),
            nic(3, "eth1", true),
            nic(4, "eth2", true),
            nic(5, "eth3", false),
        ],
        ..Default::default()
    };
    add(&mut s, foreign_address("eth0", "10.0.2.15/24"));
    add_route(&mut s, foreign_route("0.0.0.0/0", Some("10.0.2.2"), "eth0"));
    s
}

/// [`desired`] applied to [`bare`], plus a foreign VIP and a foreign route
/// on the managed VLANs.
pub fn synced() -> KernelState {
    let mut s = bare();
    let plan = diff::plan(&desired(), &s).unwrap();
    simulate::apply_all(&mut s, &plan.ops).unwrap();
    add(&mut s, foreign_address("bond0.200", "192.168.200.99/24"));
    add_route(
        &mut s,
        foreign_route("10.60.0.0/16", Some("192.168.200.254"), "bond0.200"),
    );
    s
}

pub fn foreign_address(link: &str, a: &str) -> Address {
    Address {
        link: link.into(),
        address: a.parse().unwrap(),
        valid_lifetime: Some(3600),
        preferred_lifetime: Some(3600),
        protocol: 0,
        dad: None,
    }
}

pub fn foreign_route(dest: &str, gw: Option<&str>, link: &str) -> Route {
    Route {
        destination: dest.parse().unwrap(),
        gateway: gw.map(|g| g.parse().unwrap()),
        link: Some(link.into()),
        metric: Some(100),
        protocol: 4,
        scope: if gw.is_some() { "universe" } else { "link" }.into(),
    }
}

pub fn add(s: &mut KernelState, a: Address) {
    simulate::apply(s, &super::Op::RestoreAddress { address: a }).unwrap();
}

pub fn add_route(s: &mut KernelState, r: Route) {
    simulate::apply(s, &super::Op::RestoreRoute { route: r }).unwrap();
}

/// Creating a bridge-mode macvlan `name` on `parent`.
pub fn create_macvlan(name: &str, parent: &str) -> super::Op {
    super::Op::CreateLink {
        name: name.into(),
        kind: crate::desired::LinkKind::Macvlan {
            parent: parent.into(),
            mode: crate::kinds::MacvlanMode::Bridge,
        },
        mtu: None,
        mac: None,
    }
}

pub fn link_mut<'a>(s: &'a mut KernelState, name: &str) -> &'a mut Link {
    s.links.iter_mut().find(|l| l.name == name).unwrap()
}

/// What undo can give back: everything but ifindexes, runtime status and
/// the order of the kernel's lists.
pub fn normalized(s: &KernelState) -> serde_json::Value {
    let mut s = s.clone();
    for l in &mut s.links {
        l.index = 0;
        l.carrier = false;
        l.operstate = OperState::Unknown;
        l.bond_port = None;
        if let LinkInfo::Bond(b) = &mut l.info {
            b.active_port = None;
            b.ad_info = None;
        }
    }
    s.links.sort_by(|a, b| a.name.cmp(&b.name));
    s.addresses
        .sort_by_key(|a| serde_json::to_string(a).unwrap());
    s.routes.sort_by_key(|r| serde_json::to_string(r).unwrap());
    serde_json::to_value(&s).unwrap()
}

/// Runs `ops` on `state` and returns their undo log as the executor keeps
/// it: each op's inverse from the state before it, last change first.
pub fn apply_with_undo(state: &mut KernelState, ops: &[super::Op]) -> Vec<super::Op> {
    let mut undo = Vec::new();
    for op in ops {
        undo.push(super::inverse(op, state).unwrap());
        simulate::apply(state, op).unwrap();
    }
    undo.into_iter().rev().flatten().collect()
}
