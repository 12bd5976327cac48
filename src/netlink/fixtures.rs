//! Test fixtures shared by the unit tests of this layer.

use crate::state::{KernelState, Link, LinkInfo, OperState};

/// An up NIC `name` with ifindex `index`.
pub(crate) fn link(index: u32, name: &str) -> Link {
    Link {
        index,
        name: name.into(),
        info: LinkInfo::Ethernet,
        mtu: 1500,
        mac: None,
        permanent_mac: None,
        master: None,
        parent: None,
        admin_up: true,
        carrier: true,
        operstate: OperState::Up,
        alias: None,
        ipv6_link_local_off: false,
        bond_port: None,
        carrier_down_count: None,
    }
}

pub(crate) fn state(links: Vec<Link>) -> KernelState {
    KernelState {
        links,
        ..KernelState::default()
    }
}
