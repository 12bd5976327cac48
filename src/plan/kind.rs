//! The desired kind of a link that exists: what it takes to create the same
//! link again (undo of a deletion rebuilds it from the snapshot).

use std::str::FromStr;

use crate::desired::LinkKind;
use crate::state::{KernelState, Link, LinkInfo};

use super::target::VLAN_PROTOCOL;
use super::{bond, topology};

/// The [`LinkKind`] that recreates `l` (a bond with its ports and options),
/// or why n3xnet cannot create such a link.
pub fn kind_of(state: &KernelState, l: &Link) -> Result<LinkKind, String> {
    let parent = || {
        l.parent
            .clone()
            .ok_or_else(|| format!("{} has no parent link", l.name))
    };
    match &l.info {
        LinkInfo::Bond(info) => {
            let ports = topology::ports(state, &l.name)
                .map(|p| p.name.clone())
                .collect();
            Ok(LinkKind::Bond(bond::options_of(info, ports)?))
        }
        LinkInfo::Vlan { id, protocol } if protocol == VLAN_PROTOCOL => Ok(LinkKind::Vlan {
            parent: parent()?,
            id: *id,
        }),
        LinkInfo::Macvlan { mode } => Ok(LinkKind::Macvlan {
            parent: parent()?,
            mode: parse(mode, "macvlan mode")?,
        }),
        LinkInfo::Ipvlan { mode } => Ok(LinkKind::Ipvlan {
            parent: parent()?,
            mode: parse(mode, "ipvlan mode")?,
        }),
        other => Err(format!(
            "n3xnet does not create {} links like {}",
            describe(other),
            l.name
        )),
    }
}

fn describe(info: &LinkInfo) -> String {
    match info {
        LinkInfo::Vlan { protocol, .. } => format!("{protocol} VLAN"),
        other => other.kind_name().to_string(),
    }
}

fn parse<T: FromStr>(s: &str, what: &str) -> Result<T, String> {
    s.parse().map_err(|_| format!("unknown {what} {s:?}"))
}
