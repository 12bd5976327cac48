//! The profile as written: n3x's fields plus n3xnet's optional extensions,
//! in the shared vocabulary of [`crate::kinds`] and [`crate::mac`].
//!
//! Fields keep what the operator wrote (`Option` where a default applies) so
//! that serializing a profile gives back the same document; defaults are
//! applied when one node is resolved (see [`crate::desired`]).

use std::collections::BTreeMap;
use std::fmt::Display;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Serialize, Serializer};

use crate::kinds::{
    AdSelect, BondMode, LacpRate, Mode, Network, PrimaryReselect, Role, XmitHashPolicy,
};
use crate::mac::MacAddr;

/// A whole profile: every node of one topology.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    #[serde(skip_serializing_if = "is_static")]
    pub mode: Mode,
    /// `ipAddresses.<node>.<network>`: see [`NetAddrs`].
    pub ip_addresses: BTreeMap<String, BTreeMap<Network, NetAddrs>>,
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
    /// `clusterCidr`: the pod CIDR(s); see [`Cidrs`].
    pub cluster_cidr: Cidrs,
    /// `serviceCidr`: the service CIDR(s); see [`Cidrs`].
    pub service_cidr: Cidrs,
    /// Default gateway per family; see [`Gateways`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Gateways>,
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

/// `mode = "static"` is the default and is left out when serializing, as
/// n3x's profiles leave it out.
fn is_static(mode: &Mode) -> bool {
    *mode == Mode::Static
}

/// One value per address family, each optional: the shape of
/// `ipAddresses.<node>.<network>` ([`NetAddrs`]) and `gateway`
/// ([`Gateways`]).
///
/// Written as n3x writes it, one IPv4 string, or as a list of one value per
/// family (`["192.168.200.1/24", "fd00:200::1/64"]`). A list, not a table
/// `{ ipv4, ipv6 }`: it reads the same in TOML and Nix, it is the shape of
/// k3s's `--node-ip=<v4>,<v6>` and networkd's repeated `Address=` and
/// `Gateway=`, and a plain string stays a valid one-element case, so n3x's
/// `builtins.toJSON` output loads unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PerFamily<V4, V6> {
    pub v4: Option<V4>,
    pub v6: Option<V6>,
}

/// `ipAddresses.<node>.<network>`: one IPv4 and/or one IPv6 address.
pub type NetAddrs = PerFamily<Ipv4Net, Ipv6Net>;

/// `gateway` (profile-wide or `nodes.<node>.gateway`): the default
/// gateway of one or both families, each on the link whose subnet holds
/// it.
pub type Gateways = PerFamily<Ipv4Addr, Ipv6Addr>;

impl<V4, V6> Default for PerFamily<V4, V6> {
    fn default() -> Self {
        PerFamily { v4: None, v6: None }
    }
}

impl<V4, V6> PerFamily<V4, V6> {
    /// The field path of the IPv4 (`v6` false) or IPv6 value under `base`
    /// (`ipAddresses.<node>.<network>`, `gateway`): IPv6 is only ever
    /// written in the list, after the IPv4 value if there is one.
    pub fn path(&self, base: &str, v6: bool) -> String {
        match self.v6 {
            Some(_) => super::diag::index(base, usize::from(v6 && self.v4.is_some())),
            None => base.to_string(),
        }
    }
}

impl NetAddrs {
    /// The addresses written, IPv4 first.
    pub fn iter(&self) -> impl Iterator<Item = IpNet> {
        let v4 = self.v4.map(IpNet::V4);
        let v6 = self.v6.map(IpNet::V6);
        v4.into_iter().chain(v6)
    }
}

impl Gateways {
    /// The gateways written, IPv4 first.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> {
        let v4 = self.v4.map(IpAddr::V4);
        let v6 = self.v6.map(IpAddr::V6);
        v4.into_iter().chain(v6)
    }
}

/// An IPv4-only value serializes as the one string n3x writes; a value with
/// IPv6 as the list.
impl<V4: Serialize + Display, V6: Display> Serialize for PerFamily<V4, V6> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (&self.v4, &self.v6) {
            (Some(v4), None) => v4.serialize(s),
            (v4, v6) => {
                let v4 = v4.as_ref().map(ToString::to_string);
                s.collect_seq(v4.into_iter().chain(v6.as_ref().map(ToString::to_string)))
            }
        }
    }
}

/// `clusterCidr` / `serviceCidr` / `multus.<nad>.subnet`: n3x's one IPv4
/// prefix, or a dual-stack pair in the list form of [`NetAddrs`], IPv4
/// first: `["10.42.0.0/16", "fd00:42::/56"]`.
///
/// IPv4 is required and first, unlike in `ipAddresses`, because the order
/// means something to k3s: the family of the first CIDR is the cluster's
/// primary one, and n3xnet's clusters are IPv4-primary (every node has its
/// cluster IPv4 address, `--advertise-address` is IPv4). Accepting either
/// order would silently turn a cluster written IPv6-first into an
/// IPv4-primary one. A Multus network follows the cluster: IPv4-primary,
/// its IPv6 plan derived from the IPv4 one ([`MultusNet::twin`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cidrs {
    pub v4: Ipv4Net,
    pub v6: Option<Ipv6Net>,
}

impl Cidrs {
    /// The prefixes written, IPv4 first.
    pub fn iter(&self) -> impl Iterator<Item = IpNet> {
        std::iter::once(IpNet::V4(self.v4)).chain(self.v6.map(IpNet::V6))
    }

    /// The field path of the IPv4 (`v6` false) or IPv6 prefix under `base`.
    pub fn path(&self, base: &str, v6: bool) -> String {
        match self.v6 {
            Some(_) => super::diag::index(base, usize::from(v6)),
            None => base.to_string(),
        }
    }
}

/// k3s's form: `10.42.0.0/16` or `10.42.0.0/16,fd00:42::/56`.
impl std::fmt::Display for Cidrs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.v4)?;
        match self.v6 {
            Some(v6) => write!(f, ",{v6}"),
            None => Ok(()),
        }
    }
}

/// The [`Display`](std::fmt::Display) form back.
impl std::str::FromStr for Cidrs {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let (v4, v6) = match s.split_once(',') {
            Some((v4, v6)) => (v4, Some(v6.parse().map_err(|_| ())?)),
            None => (s, None),
        };
        Ok(Cidrs {
            v4: v4.parse().map_err(|_| ())?,
            v6,
        })
    }
}

/// IPv4 alone serializes as the one string n3x writes; a pair as the list.
impl Serialize for Cidrs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.v6 {
            None => self.v4.serialize(s),
            Some(_) => s.collect_seq(self.iter().map(|a| a.to_string())),
        }
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

/// An extra static route: `{ to = "10.50.0.0/16", via = "192.168.200.254" }`,
/// of either family (`to` and `via` of the same one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteSpec {
    pub to: IpNet,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<IpAddr>,
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

/// `multus.<name>.ipam`: where pods on the network get their addresses.
/// Every choice keeps addresses unique across nodes; see
/// [`crate::profile::pools`] for the `node-pools` slices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MultusIpam {
    /// Each node's own slice of the pod range, in that node's CNI config
    /// file (`host-local` over the slice): no cluster-wide allocator needed.
    #[default]
    NodePools,
    /// The whereabouts plugin allocates cluster-wide from the whole range.
    Whereabouts,
    /// Pods name their address (`ips` in the network selection annotation).
    Static,
    /// One `host-local` range in the NAD: only for a single-node profile,
    /// since every node would hand out the same addresses.
    HostLocal,
}

impl MultusIpam {
    pub const NAMES: &'static str = "\"node-pools\", \"whereabouts\", \"static\" or \"host-local\"";

    pub fn as_str(self) -> &'static str {
        match self {
            MultusIpam::NodePools => "node-pools",
            MultusIpam::Whereabouts => "whereabouts",
            MultusIpam::Static => "static",
            MultusIpam::HostLocal => "host-local",
        }
    }
}

/// An inclusive address range `first-last`, as written in `podRanges`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct AddrRange {
    pub first: Ipv4Addr,
    pub last: Ipv4Addr,
}

impl AddrRange {
    /// How many addresses it holds (0 when `last` is below `first`).
    pub fn size(&self) -> u32 {
        (u32::from(self.last) + 1).saturating_sub(u32::from(self.first))
    }

    pub fn contains(&self, a: Ipv4Addr) -> bool {
        (self.first..=self.last).contains(&a)
    }

    pub fn overlaps(&self, other: &AddrRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

impl std::fmt::Display for AddrRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

impl std::str::FromStr for AddrRange {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let (a, b) = s.split_once('-').ok_or(())?;
        Ok(AddrRange {
            first: a.trim().parse().map_err(|_| ())?,
            last: b.trim().parse().map_err(|_| ())?,
        })
    }
}

impl Serialize for AddrRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
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
    /// The pods' IPv4 subnet, or a dual-stack pair (IPv4 first): the IPv6
    /// prefix then holds the IPv4 plan's twin, see [`MultusNet::twin`].
    pub subnet: Cidrs,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_start: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range_end: Option<Ipv4Addr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Ipv4Addr>,
    /// Where pods get their addresses (default `node-pools`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipam: Option<MultusIpam>,
    /// `node-pools`: the addresses each node must be able to hand out; the
    /// size of derived slices and the least an explicit one holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pods_per_node: Option<u32>,
    /// `node-pools`: a node's slice written out; other nodes' are derived.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_ranges: BTreeMap<String, AddrRange>,
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

impl MultusNet {
    /// The IPv6 twin of one of the NAD's IPv4 addresses (a range end, the
    /// gateway, a shim's address): the IPv6 prefix with the IPv4 address in
    /// its last 32 bits, `fd00:30::192.168.30.20` for `192.168.30.20`.
    /// `None` on an IPv4-only NAD.
    ///
    /// Why twins rather than a second set of IPv6 fields: every property the
    /// IPv4 plan was validated for (ranges inside the subnet, node slices
    /// disjoint, shims and gateway outside the pods' ranges) carries over to
    /// the IPv6 one because the map is one-to-one, and a pod's or shim's
    /// IPv6 address reads as its IPv4 one. Validation keeps the prefix at
    /// /96 or shorter so the 32 bits fit.
    pub fn twin(&self, a: Ipv4Addr) -> Option<Ipv6Addr> {
        let v6 = self.subnet.v6?;
        Some(Ipv6Addr::from(
            u128::from(v6.network()) | u128::from(u32::from(a)),
        ))
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
    /// Replaces the profile-wide `gateway`, both families.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<Gateways>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub mtu: BTreeMap<String, u32>,
    /// Added to the profile-wide routes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteSpec>,
}
