//! The profile as written: n3x's vocabulary plus n3xnet's optional extensions.
//!
//! Fields keep what the operator wrote (`Option` where a default applies) so
//! that serializing a profile gives back the same document; defaults are
//! applied when one node is resolved (see [`crate::desired`]).

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize, Serializer};

/// A whole profile: every node of one topology.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    #[serde(skip_serializing_if = "Mode::is_static")]
    pub mode: Mode,
    /// `ipAddresses.<node>.<network>`: bare IPv4 (prefix /24) or `a.b.c.d/len`.
    pub ip_addresses: BTreeMap<String, BTreeMap<Network, Ipv4Net>>,
    pub interfaces: Interfaces,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub vlan_ids: BTreeMap<Network, u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bond_config: Option<BondConfig>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub reservations: BTreeMap<String, Reservation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dhcp_server: Option<DhcpServer>,
    pub server_api: String,
    pub cluster_cidr: Ipv4Net,
    pub service_cidr: Ipv4Net,
    /// Default gateway; the link is the one whose subnet holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Ipv4Addr>,
    /// MTU per interface name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub mtu: BTreeMap<String, u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteSpec>,
    /// Multus networks by NetworkAttachmentDefinition name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub multus: BTreeMap<String, MultusNet>,
    /// Per-node overrides of the profile-wide settings.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub nodes: BTreeMap<String, NodeOverride>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Static,
    Dhcp,
}

impl Mode {
    fn is_static(&self) -> bool {
        *self == Mode::Static
    }
}

/// The logical networks of an n3x node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    Cluster,
    Storage,
}

impl Network {
    pub const ALL: [Network; 2] = [Network::Cluster, Network::Storage];

    pub fn as_str(self) -> &'static str {
        match self {
            Network::Cluster => "cluster",
            Network::Storage => "storage",
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `interfaces`: names of the links each network runs on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Interfaces {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trunk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bond_members: Option<Vec<String>>,
}

impl Interfaces {
    pub fn network(&self, net: Network) -> Option<&str> {
        match net {
            Network::Cluster => self.cluster.as_deref(),
            Network::Storage => self.storage.as_deref(),
        }
    }

    /// `self` with every field `over` sets replaced.
    pub fn merged(&self, over: &Interfaces) -> Interfaces {
        Interfaces {
            cluster: over.cluster.clone().or_else(|| self.cluster.clone()),
            storage: over.storage.clone().or_else(|| self.storage.clone()),
            trunk: over.trunk.clone().or_else(|| self.trunk.clone()),
            bond_members: over
                .bond_members
                .clone()
                .or_else(|| self.bond_members.clone()),
        }
    }
}

/// `bondConfig`: what was written; defaults are applied on resolution.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BondConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<BondMode>,
    /// Ports of the bond; defaults to `interfaces.bondMembers`, else eth1 + eth2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub miimon: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updelay: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downdelay: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_reselect: Option<PrimaryReselect>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lacp_rate: Option<LacpRate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xmit_hash_policy: Option<XmitHashPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_links: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_select: Option<AdSelect>,
}

impl BondConfig {
    /// `self` with every field `over` sets replaced.
    pub fn merged(&self, over: &BondConfig) -> BondConfig {
        BondConfig {
            mode: over.mode.or(self.mode),
            members: over.members.clone().or_else(|| self.members.clone()),
            primary: over.primary.clone().or_else(|| self.primary.clone()),
            miimon: over.miimon.or(self.miimon),
            updelay: over.updelay.or(self.updelay),
            downdelay: over.downdelay.or(self.downdelay),
            primary_reselect: over.primary_reselect.or(self.primary_reselect),
            lacp_rate: over.lacp_rate.or(self.lacp_rate),
            xmit_hash_policy: over.xmit_hash_policy.or(self.xmit_hash_policy),
            min_links: over.min_links.or(self.min_links),
            ad_select: over.ad_select.or(self.ad_select),
        }
    }
}

/// What every kernel option enum offers generic code (messages, parsing).
pub trait KernelEnum: FromStr + Copy {
    /// What the option is called in messages.
    const WHAT: &'static str;
    /// Every accepted name, comma separated.
    fn names() -> String;
}

/// Declares an enum of kernel option values: the kernel's name for each
/// variant, its numeric value (both are accepted on input, as sysfs does), and
/// `Display`/`FromStr`/`Serialize` by name.
macro_rules! kernel_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($var:ident = $text:literal, $num:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($var),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// What this option is called in messages.
            pub const WHAT: &'static str = $what;

            /// The kernel's name of the value (as in sysfs and `ip -d link`).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $text),+ }
            }

            /// The kernel's numeric value (as in `IFLA_BOND_*` attributes).
            pub fn number(self) -> u8 {
                match self { $($name::$var => $num),+ }
            }

            pub fn from_number(n: u8) -> Option<Self> {
                match n { $($num => Some($name::$var),)+ _ => None }
            }

            /// Every accepted name, for "expected one of …" messages.
            pub fn names() -> String {
                [$($text),+].join(", ")
            }
        }

        impl KernelEnum for $name {
            const WHAT: &'static str = $what;
            fn names() -> String {
                $name::names()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s {
                    $($text => Ok($name::$var),)+
                    _ => s.parse::<u8>().ok().and_then(Self::from_number).ok_or(()),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

kernel_enum!(
    /// Bonding mode (`mode` in the kernel's bonding documentation).
    BondMode, "bond mode" {
        BalanceRr = "balance-rr", 0;
        ActiveBackup = "active-backup", 1;
        BalanceXor = "balance-xor", 2;
        Broadcast = "broadcast", 3;
        Lacp = "802.3ad", 4;
        BalanceTlb = "balance-tlb", 5;
        BalanceAlb = "balance-alb", 6;
    }
);

impl BondMode {
    /// Modes in which `primary` and `primary_reselect` take effect.
    pub fn uses_primary(self) -> bool {
        matches!(
            self,
            BondMode::ActiveBackup | BondMode::BalanceTlb | BondMode::BalanceAlb
        )
    }

    /// Modes in which `xmit_hash_policy` takes effect.
    pub fn uses_xmit_hash(self) -> bool {
        matches!(
            self,
            BondMode::BalanceXor | BondMode::Lacp | BondMode::BalanceTlb
        )
    }
}

kernel_enum!(
    /// `primary_reselect`: when the primary port takes over again.
    PrimaryReselect, "primary reselect policy" {
        Always = "always", 0;
        Better = "better", 1;
        Failure = "failure", 2;
    }
);

kernel_enum!(
    /// `lacp_rate`: how often the partner is asked to send LACPDUs.
    LacpRate, "LACP rate" {
        Slow = "slow", 0;
        Fast = "fast", 1;
    }
);

kernel_enum!(
    /// `xmit_hash_policy`: which header fields pick the transmit port.
    XmitHashPolicy, "transmit hash policy" {
        Layer2 = "layer2", 0;
        Layer34 = "layer3+4", 1;
        Layer23 = "layer2+3", 2;
        Encap23 = "encap2+3", 3;
        Encap34 = "encap3+4", 4;
        VlanSrcMac = "vlan+srcmac", 5;
    }
);

kernel_enum!(
    /// `ad_select`: how the active 802.3ad aggregator is chosen.
    AdSelect, "aggregator selection" {
        Stable = "stable", 0;
        Bandwidth = "bandwidth", 1;
        Count = "count", 2;
    }
);

kernel_enum!(
    /// macvlan mode (`IFLA_MACVLAN_MODE`, a bit in the kernel).
    MacvlanMode, "macvlan mode" {
        Private = "private", 1;
        Vepa = "vepa", 2;
        Bridge = "bridge", 4;
        Passthru = "passthru", 8;
        Source = "source", 16;
    }
);

kernel_enum!(
    /// ipvlan mode (`IFLA_IPVLAN_MODE`).
    IpvlanMode, "ipvlan mode" {
        L2 = "l2", 0;
        L3 = "l3", 1;
        L3s = "l3s", 2;
    }
);

/// An Ethernet MAC address, written `52:54:00:01:01:01`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl FromStr for MacAddr {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in &mut out {
            let p = parts.next().ok_or(())?;
            if p.len() != 2 {
                return Err(());
            }
            *byte = u8::from_str_radix(p, 16).map_err(|_| ())?;
        }
        if parts.next().is_some() {
            return Err(());
        }
        Ok(MacAddr(out))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for MacAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|()| serde::de::Error::custom(format!("invalid MAC address {s:?}")))
    }
}

/// `reservations.<node>`: the DHCP server's fixed lease for a node's MAC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reservation {
    pub mac: MacAddr,
    pub ip: Ipv4Addr,
}

/// `dhcpServer`: the test network's DHCP server (dnsmasq in n3x's tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DhcpServer {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    pub ip: Ipv4Addr,
    pub subnet: Ipv4Net,
    pub range_start: Ipv4Addr,
    pub range_end: Ipv4Addr,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Ipv4Addr>,
    /// dnsmasq lease time syntax: `12h`, `30m`, `3600`, `infinite`.
    pub lease_time: String,
}

/// An extra static route: `{ to = "10.50.0.0/16", via = "192.168.200.254" }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteSpec {
    pub to: Ipv4Net,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<Ipv4Addr>,
    /// The link; when absent, the one whose subnet holds `via`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MultusKind {
    Macvlan,
    Ipvlan,
    Vlan,
}

impl MultusKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MultusKind::Macvlan => "macvlan",
            MultusKind::Ipvlan => "ipvlan",
            MultusKind::Vlan => "vlan",
        }
    }
}

/// `multus.<name>`: a NetworkAttachmentDefinition and, for macvlan/ipvlan,
/// the host-side shim that lets the node itself reach the pods on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MultusNet {
    #[serde(rename = "type")]
    pub kind: MultusKind,
    pub master: String,
    /// macvlan: private|vepa|bridge|passthru|source (default bridge);
    /// ipvlan: l2|l3|l3s (default l2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The VID of a `vlan` NAD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vlan_id: Option<u16>,
    pub subnet: Ipv4Net,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_start: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_end: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name of the host shim link (default `mv-<name>` / `iv-<name>`, cut to 15 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_interface: Option<String>,
    /// The shim's address per node, with the subnet's prefix; nodes without
    /// one get no shim.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub host_addresses: BTreeMap<String, Ipv4Addr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Server,
    Agent,
}

impl Role {
    /// The name, as in profiles and k3s unit names.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Agent => "agent",
        }
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "server" => Ok(Role::Server),
            "agent" => Ok(Role::Agent),
            _ => Err(()),
        }
    }
}

/// `nodes.<node>`: settings that differ on one node.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeOverride {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interfaces: Option<Interfaces>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub vlan_ids: BTreeMap<Network, u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bond_config: Option<BondConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub mtu: BTreeMap<String, u32>,
    /// Added to the profile-wide routes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteSpec>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_enums_take_names_and_numbers() {
        assert_eq!("802.3ad".parse(), Ok(BondMode::Lacp));
        assert_eq!("4".parse(), Ok(BondMode::Lacp));
        assert_eq!("layer3+4".parse(), Ok(XmitHashPolicy::Layer34));
        assert_eq!("7".parse::<BondMode>(), Err(()));
        assert_eq!(BondMode::ALL.len(), 7);
        assert_eq!(MacvlanMode::Bridge.number(), 4);
    }

    #[test]
    fn mac_round_trip() {
        let m: MacAddr = "52:54:00:01:01:0A".parse().unwrap();
        assert_eq!(m.to_string(), "52:54:00:01:01:0a");
        assert!("52:54:00:01:01".parse::<MacAddr>().is_err());
        assert!("52:54:00:01:01:01:01".parse::<MacAddr>().is_err());
    }
}
