//! The operations a plan is made of: small, ordered, each one kernel request
//! (or a tight group of them) that the netlink layer executes and can undo.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Serialize;

use crate::desired::{DesiredRoute, LinkKind};
use crate::profile::model::{
    AdSelect, BondMode, LacpRate, MacAddr, MacvlanMode, PrimaryReselect, XmitHashPolicy,
};

/// One bond option change, applied with `RTM_NEWLINK` on the existing bond.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "option", content = "value", rename_all = "camelCase")]
pub enum BondChange {
    Mode(BondMode),
    Miimon(u32),
    Updelay(u32),
    Downdelay(u32),
    /// `None` clears the primary.
    Primary(Option<String>),
    PrimaryReselect(PrimaryReselect),
    LacpRate(LacpRate),
    XmitHashPolicy(XmitHashPolicy),
    MinLinks(u32),
    AdSelect(AdSelect),
}

impl BondChange {
    /// Options the kernel refuses to change while the bond is up.
    pub fn needs_bond_down(&self) -> bool {
        matches!(
            self,
            BondChange::Mode(_)
                | BondChange::XmitHashPolicy(_)
                | BondChange::LacpRate(_)
                | BondChange::MinLinks(_)
                | BondChange::AdSelect(_)
        )
    }
}

impl fmt::Display for BondChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BondChange::Mode(v) => write!(f, "mode {v}"),
            BondChange::Miimon(v) => write!(f, "miimon {v}"),
            BondChange::Updelay(v) => write!(f, "updelay {v}"),
            BondChange::Downdelay(v) => write!(f, "downdelay {v}"),
            BondChange::Primary(Some(p)) => write!(f, "primary {p}"),
            BondChange::Primary(None) => write!(f, "primary none"),
            BondChange::PrimaryReselect(v) => write!(f, "primary_reselect {v}"),
            BondChange::LacpRate(v) => write!(f, "lacp_rate {v}"),
            BondChange::XmitHashPolicy(v) => write!(f, "xmit_hash_policy {v}"),
            BondChange::MinLinks(v) => write!(f, "min_links {v}"),
            BondChange::AdSelect(v) => write!(f, "ad_select {v}"),
        }
    }
}

/// A route to remove, as the kernel holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteKey {
    pub destination: Ipv4Net,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Ipv4Addr>,
    pub link: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// Create a virtual link, admin-down, marked with the ownership alias and
    /// with IPv6 link-local addressing off from birth.
    CreateLink {
        name: String,
        kind: LinkKind,
        #[serde(skip_serializing_if = "Option::is_none")]
        mtu: Option<u32>,
        /// Deterministic MAC (a bond takes its primary's permanent MAC).
        #[serde(skip_serializing_if = "Option::is_none")]
        mac: Option<MacAddr>,
    },
    /// Delete a link n3xnet owns (never a foreign one).
    DeleteLink {
        name: String,
    },
    SetBondOptions {
        bond: String,
        changes: Vec<BondChange>,
    },
    SetMacvlanMode {
        name: String,
        mode: MacvlanMode,
    },
    SetUp {
        name: String,
    },
    SetDown {
        name: String,
    },
    /// Enslave a port (it must be down; a later `SetUp` brings it back).
    SetMaster {
        port: String,
        bond: String,
    },
    /// Release a port from its bond.
    ReleasePort {
        port: String,
    },
    SetMtu {
        name: String,
        mtu: u32,
    },
    /// `addr_gen_mode none` and `accept_ra 0`, and drop existing fe80::/64
    /// (networkd's `LinkLocalAddressing=no`, `IPv6AcceptRA=no`).
    DisableIpv6Auto {
        name: String,
    },
    AddAddress {
        link: String,
        address: Ipv4Net,
    },
    DeleteAddress {
        link: String,
        address: Ipv4Net,
    },
    AddRoute {
        route: DesiredRoute,
    },
    DeleteRoute {
        route: RouteKey,
    },
}

impl Op {
    /// The link the operation acts on (the port for bond membership).
    pub fn link(&self) -> &str {
        match self {
            Op::CreateLink { name, .. }
            | Op::DeleteLink { name }
            | Op::SetMacvlanMode { name, .. }
            | Op::SetUp { name }
            | Op::SetDown { name }
            | Op::SetMtu { name, .. }
            | Op::DisableIpv6Auto { name } => name,
            Op::SetBondOptions { bond, .. } => bond,
            Op::SetMaster { port, .. } | Op::ReleasePort { port } => port,
            Op::AddAddress { link, .. } | Op::DeleteAddress { link, .. } => link,
            Op::AddRoute { route } => &route.link,
            Op::DeleteRoute { route } => &route.link,
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::CreateLink {
                name,
                kind,
                mtu,
                mac,
            } => {
                write!(f, "create {name}")?;
                match kind {
                    LinkKind::Ethernet => write!(f, " ethernet")?,
                    LinkKind::Bond(o) => write!(f, " bond mode {}", o.mode)?,
                    LinkKind::Vlan { parent, id } => write!(f, " vlan {id} on {parent}")?,
                    LinkKind::Macvlan { parent, mode } => write!(f, " macvlan {mode} on {parent}")?,
                    LinkKind::Ipvlan { parent, mode } => write!(f, " ipvlan {mode} on {parent}")?,
                }
                if let Some(m) = mtu {
                    write!(f, " mtu {m}")?;
                }
                if let Some(m) = mac {
                    write!(f, " address {m}")?;
                }
                Ok(())
            }
            Op::DeleteLink { name } => write!(f, "delete {name}"),
            Op::SetBondOptions { bond, changes } => {
                write!(f, "set {bond}")?;
                for c in changes {
                    write!(f, " {c}")?;
                }
                Ok(())
            }
            Op::SetMacvlanMode { name, mode } => write!(f, "set {name} macvlan mode {mode}"),
            Op::SetUp { name } => write!(f, "set {name} up"),
            Op::SetDown { name } => write!(f, "set {name} down"),
            Op::SetMaster { port, bond } => write!(f, "set {port} master {bond}"),
            Op::ReleasePort { port } => write!(f, "set {port} nomaster"),
            Op::SetMtu { name, mtu } => write!(f, "set {name} mtu {mtu}"),
            Op::DisableIpv6Auto { name } => {
                write!(f, "set {name} ipv6 addrgenmode none accept_ra 0")
            }
            Op::AddAddress { link, address } => write!(f, "add address {address} dev {link}"),
            Op::DeleteAddress { link, address } => {
                write!(f, "delete address {address} dev {link}")
            }
            Op::AddRoute { route } => write!(f, "add route {route}"),
            Op::DeleteRoute { route } => {
                let r = DesiredRoute {
                    destination: route.destination,
                    gateway: route.gateway,
                    link: route.link.clone(),
                    metric: route.metric,
                };
                write!(f, "delete route {r}")
            }
        }
    }
}
