//! The desired network of one node: what the profile asks the kernel to hold.
//!
//! This is the contract between the pure front (profile, render, k3s flags)
//! and the back (plan, engine, netlink): typed links with their kind and options,
//! addresses and routes, all defaults applied.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::kinds::{
    AdSelect, BondMode, IpvlanMode, LacpRate, MacvlanMode, Mode, Network, PrimaryReselect, Role,
    XmitHashPolicy,
};

/// Below this MTU the kernel gives a link no IPv6 (its `IPV6_MIN_MTU`,
/// RFC 8200 5): no link-local address, and no IPv6 address can be added.
pub const IPV6_MIN_MTU: u32 = 1280;

/// Everything n3xnet manages on one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesiredNetwork {
    pub node: String,
    /// From `nodes.<node>.role` when the profile says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    pub mode: Mode,
    /// The link carrying the cluster network (k3s `--flannel-iface`).
    pub cluster_interface: String,
    /// The node's cluster address (the reserved one in DHCP mode).
    pub cluster_ip: Ipv4Addr,
    /// Parents always come before their children.
    pub links: Vec<DesiredLink>,
    pub addresses: Vec<DesiredAddress>,
    pub routes: Vec<DesiredRoute>,
}

impl DesiredNetwork {
    pub fn link(&self, name: &str) -> Option<&DesiredLink> {
        self.links.iter().find(|l| l.name == name)
    }

    pub fn addresses_on<'a>(&'a self, link: &'a str) -> impl Iterator<Item = &'a DesiredAddress> {
        self.addresses.iter().filter(move |a| a.link == link)
    }

    /// A short fingerprint of everything desired, so that `n3xnetctl apply`
    /// can tell whether n3xnetd (its `status.json`) supervises the node
    /// with the same network: FNV-1a over the `Debug` rendering, which
    /// covers every field, in order. Stable within one build; a daemon and
    /// a CLI of different versions may disagree, which errs on the side of
    /// asking the operator.
    pub fn digest(&self) -> String {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in format!("{self:?}").bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }

    /// The link a logical network runs on, if the node has that network.
    pub fn network_link(&self, net: Network) -> Option<&DesiredLink> {
        self.links.iter().find(|l| l.network == Some(net))
    }
}

/// One link n3xnet owns on the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredLink {
    pub name: String,
    pub kind: LinkKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// The bond this link is a port of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    /// The address comes from DHCP instead of the profile.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dhcp: bool,
    /// The logical network whose address this link carries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    /// The Multus network this link is the host shim of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multus: Option<String>,
}

impl DesiredLink {
    /// A link of `kind` with nothing else said about it yet.
    pub fn new(name: &str, kind: LinkKind) -> DesiredLink {
        DesiredLink {
            name: name.to_owned(),
            kind,
            mtu: None,
            master: None,
            dhcp: false,
            network: None,
            multus: None,
        }
    }

    /// The link this one is stacked on (VLAN/macvlan/ipvlan parent).
    pub fn parent(&self) -> Option<&str> {
        match &self.kind {
            LinkKind::Vlan { parent, .. }
            | LinkKind::Macvlan { parent, .. }
            | LinkKind::Ipvlan { parent, .. } => Some(parent),
            LinkKind::Ethernet | LinkKind::Bond(_) => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum LinkKind {
    /// A NIC that exists already; n3xnet configures it but never creates it.
    Ethernet,
    Bond(BondOptions),
    Vlan {
        parent: String,
        id: u16,
    },
    Macvlan {
        parent: String,
        mode: MacvlanMode,
    },
    Ipvlan {
        parent: String,
        mode: IpvlanMode,
    },
}

impl LinkKind {
    /// The kernel's `IFLA_INFO_KIND` of the link (`None` for NICs).
    pub fn kernel_kind(&self) -> Option<&'static str> {
        match self {
            LinkKind::Ethernet => None,
            LinkKind::Bond(_) => Some("bond"),
            LinkKind::Vlan { .. } => Some("vlan"),
            LinkKind::Macvlan { .. } => Some("macvlan"),
            LinkKind::Ipvlan { .. } => Some("ipvlan"),
        }
    }
}

/// Bond options with every default applied. Options the mode does not use
/// are `None`: n3xnet leaves them at the kernel's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BondOptions {
    pub mode: BondMode,
    pub members: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    pub miimon: u32,
    pub updelay: u32,
    pub downdelay: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_reselect: Option<PrimaryReselect>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lacp_rate: Option<LacpRate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xmit_hash_policy: Option<XmitHashPolicy>,
    pub min_links: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_select: Option<AdSelect>,
}

/// An address of either family; an IPv6 one comes with the link-local
/// address its link needs (see [`crate::profile::resolve`]'s addresses).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DesiredAddress {
    pub link: String,
    pub address: IpNet,
}

/// A main-table route of either family (destination and gateway of the
/// same one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DesiredRoute {
    pub destination: IpNet,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    pub link: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
}

impl fmt::Display for DesiredRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.destination.prefix_len() == 0 {
            f.write_str("default")?;
        } else {
            write!(f, "{}", self.destination)?;
        }
        if let Some(gw) = self.gateway {
            write!(f, " via {gw}")?;
        }
        write!(f, " dev {}", self.link)?;
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        Ok(())
    }
}
