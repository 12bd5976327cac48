//! The kernel's current network state in n3xnet's own types.
//!
//! The netlink layer fills these from one dump per object type; the planner,
//! the health model and `status` read them. Nothing here depends on the
//! rtnetlink crates, which change often, so the pure layers stay stable and
//! can be tested from JSON fixtures without root.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::mac::MacAddr;

/// Version of the JSON schema of [`KernelState`] (`status --json`).
pub const STATE_SCHEMA_VERSION: u32 = 1;

/// What the kernel holds: links, IPv4 and IPv6 addresses, main-table
/// unicast routes of both families.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KernelState {
    pub links: Vec<Link>,
    #[serde(default)]
    pub addresses: Vec<Address>,
    #[serde(default)]
    pub routes: Vec<Route>,
}

impl KernelState {
    pub fn link(&self, name: &str) -> Option<&Link> {
        self.links.iter().find(|l| l.name == name)
    }

    pub fn addresses_on<'a>(&'a self, link: &'a str) -> impl Iterator<Item = &'a Address> {
        self.addresses.iter().filter(move |a| a.link == link)
    }
}

/// Written into `IFLA_IFALIAS` of every link n3xnet creates, so a later run
/// (or another node image) can tell its links from foreign ones. A link with
/// this alias is n3xnet's whatever its name: it may be reconfigured, and it
/// is deleted once the profile no longer declares it.
pub const OWNER_ALIAS: &str = "n3xnet";

/// The `IFLA_GROUP` of every link n3xnet creates, sent in the creating
/// request itself: the kernel (6.18) ignores `IFLA_IFALIAS` there, so the
/// alias follows in a second request, and the group is what marks a link
/// that a crash caught between the two. The group alone is a weaker mark
/// than the alias (an operator may use any group number for their own
/// links), so it claims a link only under a name the profile declares
/// (`plan::target`). 0x6e33, "n3" in ASCII: not 0 (every link's default
/// group) and far from the small numbers groups are usually given by hand;
/// `ip link show group 28211` lists the links, and a line `28211 n3xnet` in
/// `/etc/iproute2/group` names it. Fixed, not configurable: every n3xnetctl
/// and n3xnetd, of every version, must read a half-created link the same.
pub const OWNER_GROUP: u32 = 28211;

/// The `IFA_PROTO` of addresses and the `rtm_protocol` of routes n3xnet adds.
/// Unassigned in iproute2's `rt_protos`; lets n3xnet remove what it added
/// when the profile changes while never touching foreign addresses/routes.
pub const OWNER_PROTOCOL: u8 = 110;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// Kind-specific data; `Ethernet` for links without `IFLA_LINKINFO`.
    pub info: LinkInfo,
    pub mtu: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<MacAddr>,
    /// `IFLA_PERM_ADDRESS` (the NIC's burned-in MAC), where the kernel gives it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permanent_mac: Option<MacAddr>,
    /// Name of the master (bond or bridge), resolved from `IFLA_MASTER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    /// Name of the lower link (`IFLA_LINK`) of a VLAN/macvlan/ipvlan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// `IFF_UP`.
    pub admin_up: bool,
    /// `IFF_LOWER_UP`.
    pub carrier: bool,
    pub operstate: OperState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// `IFLA_GROUP` (0, the kernel's default group, is left out of JSON).
    #[serde(default, skip_serializing_if = "is_default_group")]
    pub group: u32,
    /// `IFLA_INET6_ADDR_GEN_MODE` is `none`: no IPv6 link-local is made.
    #[serde(default)]
    pub ipv6_link_local_off: bool,
    /// Bond port state, when `master` is a bond.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bond_port: Option<BondPort>,
    /// `IFLA_CARRIER_DOWN_COUNT`: carrier losses since the link was created.
    /// The health model counts flaps from it, so a loss and return inside
    /// one burst of events still counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carrier_down_count: Option<u32>,
}

fn is_default_group(group: &u32) -> bool {
    *group == 0
}

impl Link {
    /// Carries n3xnet's ownership mark, the alias: n3xnet's under any name.
    pub fn is_owned(&self) -> bool {
        self.alias.as_deref() == Some(OWNER_ALIAS)
    }

    /// Carries n3xnet's group ([`OWNER_GROUP`]), the mark of its creating
    /// request; whether that makes the link n3xnet's depends on its name
    /// (`plan::target::Target::half_created`).
    pub fn in_owner_group(&self) -> bool {
        self.group == OWNER_GROUP
    }

    pub fn kind_name(&self) -> &str {
        self.info.kind_name()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OperState {
    Unknown,
    NotPresent,
    Down,
    LowerLayerDown,
    Testing,
    Dormant,
    Up,
}

impl OperState {
    /// Every operstate, in the kernel's (RFC 2863's) order: what a
    /// Prometheus state set of them lists.
    pub const ALL: [OperState; 7] = [
        OperState::Unknown,
        OperState::NotPresent,
        OperState::Down,
        OperState::LowerLayerDown,
        OperState::Testing,
        OperState::Dormant,
        OperState::Up,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum LinkInfo {
    /// No `IFLA_LINKINFO`: a NIC (or loopback).
    Ethernet,
    Bond(BondInfo),
    Vlan {
        id: u16,
        /// `802.1Q` or `802.1ad`.
        protocol: String,
    },
    Macvlan {
        /// Kernel name: private, vepa, bridge, passthru, source.
        mode: String,
    },
    Ipvlan {
        /// Kernel name: l2, l3, l3s.
        mode: String,
    },
    Veth,
    Bridge,
    /// Any other kind, by its `IFLA_INFO_KIND`.
    Other {
        kind: String,
    },
}

impl LinkInfo {
    pub fn kind_name(&self) -> &str {
        match self {
            LinkInfo::Ethernet => "ethernet",
            LinkInfo::Bond(_) => "bond",
            LinkInfo::Vlan { .. } => "vlan",
            LinkInfo::Macvlan { .. } => "macvlan",
            LinkInfo::Ipvlan { .. } => "ipvlan",
            LinkInfo::Veth => "veth",
            LinkInfo::Bridge => "bridge",
            LinkInfo::Other { kind } => kind,
        }
    }
}

/// A bond's options as the kernel reports them (names as in sysfs).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BondInfo {
    pub mode: String,
    pub miimon: u32,
    pub updelay: u32,
    pub downdelay: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<String>,
    pub primary_reselect: String,
    pub lacp_rate: String,
    pub xmit_hash_policy: String,
    pub min_links: u32,
    pub ad_select: String,
    /// The port currently carrying traffic (active-backup).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_port: Option<String>,
    /// 802.3ad aggregator information (`IFLA_BOND_AD_INFO`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_info: Option<AdInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdInfo {
    pub aggregator_id: u16,
    pub num_ports: u16,
    pub actor_key: u16,
    pub partner_key: u16,
    pub partner_mac: MacAddr,
}

/// One port of a bond (`IFLA_INFO_SLAVE_DATA`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BondPort {
    /// `active` or `backup`.
    pub state: String,
    /// `up`, `going-down`, `down`, `going-back`.
    pub mii_status: String,
    pub link_failure_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permanent_mac: Option<MacAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregator_id: Option<u16>,
    /// LACP actor/partner operational port state bits (63 = fully up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_oper_port_state: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner_oper_port_state: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub link: String,
    pub address: IpNet,
    /// Seconds; `None` means forever (a static address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_lifetime: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_lifetime: Option<u32>,
    /// `IFA_PROTO` (0 when the kernel reports none).
    #[serde(default)]
    pub protocol: u8,
    /// IPv6 duplicate address detection, while it is not done or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dad: Option<Dad>,
}

/// Where an IPv6 address stands in duplicate address detection (RFC 4862
/// 5.4), when it is not simply usable.
///
/// n3xnet keeps DAD on (no `nodad`): a static address on a shared segment
/// is exactly what another host may hold by mistake, and DAD is the only
/// check that tells. The price is a second or so (`dad_transmits` x
/// `retrans_time`) between adding an address and using it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dad {
    /// `tentative`: probing; the address is not used as a source yet.
    Tentative,
    /// `dadfailed`: another host on the link holds it. The kernel keeps the
    /// address (tentative forever), so a plan sees it present and does not
    /// re-add it in a loop; it is reported instead.
    Failed,
}

impl Address {
    pub fn is_owned(&self) -> bool {
        self.protocol == OWNER_PROTOCOL
    }

    /// Has a finite lifetime (`dynamic` in `ip addr`), i.e. came from DHCP.
    pub fn is_dynamic(&self) -> bool {
        self.valid_lifetime.is_some()
    }
}

/// A unicast route of the main table, of either family. IPv6 routes
/// always carry a metric: the kernel gives one added without a metric
/// 1024 (see [`crate::plan::simulate::same_slot`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Route {
    pub destination: IpNet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
    /// `rtm_protocol`: 2 kernel, 3 boot, 4 static, 16 dhcp, ...
    pub protocol: u8,
    /// `universe`, `link`, `host`, ...
    pub scope: String,
}

impl Route {
    pub fn is_owned(&self) -> bool {
        self.protocol == OWNER_PROTOCOL
    }
}

/// Kernel states for the unit tests of every layer.
#[cfg(test)]
pub mod fixtures {
    use super::{KernelState, Link, LinkInfo, OperState};

    /// A NIC `name` with ifindex `index` and a MAC derived from it, up
    /// (admin and carrier) or down.
    pub fn nic(index: u32, name: &str, up: bool) -> Link {
        let mac = format!("52:54:00:12:34:{index:02x}").parse().ok();
        Link {
            index,
            name: name.into(),
            info: LinkInfo::Ethernet,
            mtu: 1500,
            mac,
            permanent_mac: mac,
            master: None,
            parent: None,
            admin_up: up,
            carrier: up,
            operstate: if up { OperState::Up } else { OperState::Down },
            alias: None,
            group: 0,
            ipv6_link_local_off: false,
            bond_port: None,
            carrier_down_count: None,
        }
    }

    /// A kernel with these links and nothing else.
    pub fn state(links: Vec<Link>) -> KernelState {
        KernelState {
            links,
            ..KernelState::default()
        }
    }
}
