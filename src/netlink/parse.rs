//! Kernel messages → n3xnet's [`crate::state`] types.
//!
//! Pure functions, so every kind of link can be tested without a kernel that
//! has it (this build host lacks bonding and 8021q). References between
//! links (master, parent, bond primary, active port) arrive as ifindexes and
//! are resolved to names against the same dump.

use std::collections::HashMap;
use std::fmt::Display;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::Ipv4Net;
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressProtocol};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, BondAdInfo, BondPortState, In6AddrGenMode, InfoBond, InfoBondPort,
    InfoData, InfoIpVlan, InfoKind, InfoMacVlan, InfoPortData, InfoVlan, LinkAttribute, LinkFlags,
    LinkInfo as NlLinkInfo, LinkMessage, MiiStatus, State, VlanProtocol,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteScope, RouteType,
};
use netlink_packet_route::AddressFamily;

use crate::profile::model::{self, MacAddr};
use crate::state::{AdInfo, Address, BondInfo, BondPort, Link, LinkInfo, OperState, Route};

/// `IFA_CACHEINFO` lifetime meaning "forever".
const INFINITY_LIFE_TIME: u32 = u32::MAX;

/// ifindex → name of every link of a dump.
pub(crate) type Names = HashMap<u32, String>;

pub(crate) fn link_names(msgs: &[LinkMessage]) -> Names {
    msgs.iter()
        .filter_map(|m| {
            m.attributes.iter().find_map(|a| match a {
                LinkAttribute::IfName(n) => Some((m.header.index, n.clone())),
                _ => None,
            })
        })
        .collect()
}

/// One link; `None` for a message without a name (never sent by the kernel).
pub(crate) fn link(msg: &LinkMessage, names: &Names) -> Option<Link> {
    let mut name = None;
    let mut link = Link {
        index: msg.header.index,
        name: String::new(),
        info: LinkInfo::Ethernet,
        mtu: 0,
        mac: None,
        permanent_mac: None,
        master: None,
        parent: None,
        admin_up: msg.header.flags.contains(LinkFlags::Up),
        carrier: msg.header.flags.contains(LinkFlags::LowerUp),
        operstate: OperState::Unknown,
        alias: None,
        // A link without IPv6 (no AF_INET6 block) makes no link-local either.
        ipv6_link_local_off: true,
        bond_port: None,
    };
    let mut lower = None;
    let mut lower_elsewhere = false;
    for attr in &msg.attributes {
        match attr {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::Mtu(m) => link.mtu = *m,
            LinkAttribute::Address(a) => link.mac = mac(a),
            LinkAttribute::PermAddress(a) => link.permanent_mac = mac(a),
            LinkAttribute::Controller(i) => link.master = names.get(i).cloned(),
            LinkAttribute::Link(i) => lower = Some(*i),
            // IFLA_LINK then counts in another namespace's ifindex space.
            LinkAttribute::LinkNetNsId(_) => lower_elsewhere = true,
            LinkAttribute::IfAlias(a) => link.alias = Some(a.clone()),
            LinkAttribute::OperState(s) => link.operstate = operstate(*s),
            LinkAttribute::LinkInfo(infos) => {
                (link.info, link.bond_port) = link_info(infos, names);
            }
            LinkAttribute::AfSpecUnspec(specs) => {
                if let Some(mode) = addr_gen_mode(specs) {
                    link.ipv6_link_local_off = mode == Some(In6AddrGenMode::None);
                }
            }
            _ => {}
        }
    }
    link.name = name?;
    // A veth's IFLA_LINK is its peer, not a lower link.
    if !lower_elsewhere && link.info != LinkInfo::Veth {
        link.parent = lower.and_then(|i| names.get(&i).cloned());
    }
    Some(link)
}

/// `Some(mode)` when the link has IPv6 (`mode` itself may be absent).
fn addr_gen_mode(specs: &[AfSpecUnspec]) -> Option<Option<In6AddrGenMode>> {
    specs.iter().find_map(|s| match s {
        AfSpecUnspec::Inet6(attrs) => Some(attrs.iter().find_map(|a| match a {
            AfSpecInet6::AddrGenMode(m) => Some(*m),
            _ => None,
        })),
        _ => None,
    })
}

fn mac(bytes: &[u8]) -> Option<MacAddr> {
    <[u8; 6]>::try_from(bytes).ok().map(MacAddr)
}

fn operstate(s: State) -> OperState {
    match s {
        State::NotPresent => OperState::NotPresent,
        State::Down => OperState::Down,
        State::LowerLayerDown => OperState::LowerLayerDown,
        State::Testing => OperState::Testing,
        State::Dormant => OperState::Dormant,
        State::Up => OperState::Up,
        _ => OperState::Unknown,
    }
}

/// The kernel's name of a numeric option value, or the number itself when
/// n3xnet does not know the value.
fn option_name<T: Display>(known: Option<T>, raw: impl Display) -> String {
    known.map_or_else(|| raw.to_string(), |v| v.to_string())
}

fn link_info(infos: &[NlLinkInfo], names: &Names) -> (LinkInfo, Option<BondPort>) {
    let mut kind = None;
    let mut data = None;
    let mut port = None;
    for info in infos {
        match info {
            NlLinkInfo::Kind(k) => kind = Some(k),
            NlLinkInfo::Data(d) => data = Some(d),
            NlLinkInfo::PortData(InfoPortData::BondPort(p)) => port = Some(bond_port(p)),
            _ => {}
        }
    }
    let info = match (kind, data) {
        (None, _) => LinkInfo::Ethernet,
        (Some(InfoKind::Bond), Some(InfoData::Bond(d))) => LinkInfo::Bond(bond(d, names)),
        (Some(InfoKind::Bond), _) => LinkInfo::Bond(BondInfo::default()),
        (Some(InfoKind::Vlan), d) => vlan(d),
        (Some(InfoKind::MacVlan), d) => macvlan(d),
        (Some(InfoKind::IpVlan), d) => ipvlan(d),
        (Some(InfoKind::Veth), _) => LinkInfo::Veth,
        (Some(InfoKind::Bridge), _) => LinkInfo::Bridge,
        (Some(k), _) => LinkInfo::Other {
            kind: k.to_string(),
        },
    };
    (info, port)
}

fn bond(attrs: &[InfoBond], names: &Names) -> BondInfo {
    let mut b = BondInfo::default();
    for a in attrs {
        match a {
            InfoBond::Mode(m) => {
                let n = u8::from(*m);
                b.mode = option_name(model::BondMode::from_number(n), n);
            }
            InfoBond::MiiMon(v) => b.miimon = *v,
            InfoBond::UpDelay(v) => b.updelay = *v,
            InfoBond::DownDelay(v) => b.downdelay = *v,
            InfoBond::Primary(i) => b.primary = names.get(i).cloned(),
            InfoBond::ActivePort(i) => b.active_port = names.get(i).cloned(),
            InfoBond::PrimaryReselect(v) => {
                let n = u8::from(*v);
                b.primary_reselect = option_name(model::PrimaryReselect::from_number(n), n);
            }
            InfoBond::AdLacpRate(v) => {
                let n = u8::from(*v);
                b.lacp_rate = option_name(model::LacpRate::from_number(n), n);
            }
            InfoBond::XmitHashPolicy(v) => {
                let n = u8::from(*v);
                b.xmit_hash_policy = option_name(model::XmitHashPolicy::from_number(n), n);
            }
            InfoBond::MinLinks(v) => b.min_links = *v,
            InfoBond::AdSelect(v) => {
                let n = u8::from(*v);
                b.ad_select = option_name(model::AdSelect::from_number(n), n);
            }
            InfoBond::AdInfo(info) => b.ad_info = Some(ad_info(info)),
            _ => {}
        }
    }
    b
}

fn ad_info(attrs: &[BondAdInfo]) -> AdInfo {
    let mut info = AdInfo {
        aggregator_id: 0,
        num_ports: 0,
        actor_key: 0,
        partner_key: 0,
        partner_mac: MacAddr::default(),
    };
    for a in attrs {
        match a {
            BondAdInfo::Aggregator(v) => info.aggregator_id = *v,
            BondAdInfo::NumPorts(v) => info.num_ports = *v,
            BondAdInfo::ActorKey(v) => info.actor_key = *v,
            BondAdInfo::PartnerKey(v) => info.partner_key = *v,
            BondAdInfo::PartnerMac(m) => info.partner_mac = MacAddr(*m),
            _ => {}
        }
    }
    info
}

fn bond_port(attrs: &[InfoBondPort]) -> BondPort {
    let mut p = BondPort {
        state: String::new(),
        mii_status: String::new(),
        link_failure_count: 0,
        permanent_mac: None,
        aggregator_id: None,
        actor_oper_port_state: None,
        partner_oper_port_state: None,
    };
    for a in attrs {
        match a {
            InfoBondPort::BondPortState(s) => {
                p.state = match s {
                    BondPortState::Active => "active".to_owned(),
                    BondPortState::Backup => "backup".to_owned(),
                    other => u8::from(*other).to_string(),
                }
            }
            InfoBondPort::MiiStatus(s) => {
                p.mii_status = match s {
                    MiiStatus::Up => "up".to_owned(),
                    MiiStatus::GoingDown => "going-down".to_owned(),
                    MiiStatus::Down => "down".to_owned(),
                    MiiStatus::GoingBack => "going-back".to_owned(),
                    other => u8::from(*other).to_string(),
                }
            }
            InfoBondPort::LinkFailureCount(n) => p.link_failure_count = *n,
            InfoBondPort::PermHwaddr(m) => p.permanent_mac = mac(m),
            InfoBondPort::AdAggregatorId(id) => p.aggregator_id = Some(*id),
            InfoBondPort::AdActorOperPortState(s) => p.actor_oper_port_state = Some(s.bits()),
            InfoBondPort::AdPartnerOperPortState(s) => {
                p.partner_oper_port_state = Some(u16::from(s.bits()))
            }
            _ => {}
        }
    }
    p
}

fn vlan(data: Option<&InfoData>) -> LinkInfo {
    let mut id = 0;
    let mut protocol = VlanProtocol::Ieee8021Q;
    if let Some(InfoData::Vlan(attrs)) = data {
        for a in attrs {
            match a {
                InfoVlan::Id(v) => id = *v,
                InfoVlan::Protocol(p) => protocol = *p,
                _ => {}
            }
        }
    }
    let protocol = match protocol {
        VlanProtocol::Ieee8021Q => "802.1Q".to_owned(),
        VlanProtocol::Ieee8021Ad => "802.1ad".to_owned(),
        other => format!("{:#06x}", u16::from(other)),
    };
    LinkInfo::Vlan { id, protocol }
}

fn macvlan(data: Option<&InfoData>) -> LinkInfo {
    let raw = match data {
        Some(InfoData::MacVlan(attrs)) => attrs.iter().find_map(|a| match a {
            InfoMacVlan::Mode(m) => Some(u32::from(*m)),
            _ => None,
        }),
        _ => None,
    };
    let mode = raw.map_or_else(String::new, |n| {
        option_name(
            u8::try_from(n)
                .ok()
                .and_then(model::MacvlanMode::from_number),
            n,
        )
    });
    LinkInfo::Macvlan { mode }
}

fn ipvlan(data: Option<&InfoData>) -> LinkInfo {
    let raw = match data {
        Some(InfoData::IpVlan(attrs)) => attrs.iter().find_map(|a| match a {
            InfoIpVlan::Mode(m) => Some(u16::from(*m)),
            _ => None,
        }),
        _ => None,
    };
    let mode = raw.map_or_else(String::new, |n| {
        option_name(
            u8::try_from(n)
                .ok()
                .and_then(model::IpvlanMode::from_number),
            n,
        )
    });
    LinkInfo::Ipvlan { mode }
}

/// One IPv4 address; `None` for other families or unknown links.
pub(crate) fn address(msg: &AddressMessage, names: &Names) -> Option<Address> {
    if msg.header.family != AddressFamily::Inet {
        return None;
    }
    let mut local = None;
    let mut peer = None;
    let mut valid = None;
    let mut preferred = None;
    let mut protocol = 0;
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(IpAddr::V4(a)) => local = Some(*a),
            AddressAttribute::Address(IpAddr::V4(a)) => peer = Some(*a),
            AddressAttribute::CacheInfo(c) => {
                valid = lifetime(c.ifa_valid);
                preferred = lifetime(c.ifa_preferred);
            }
            AddressAttribute::Protocol(p) => protocol = u8::from(*p),
            _ => {}
        }
    }
    // IFA_LOCAL is the address itself; IFA_ADDRESS the peer of a
    // point-to-point link (both are equal otherwise).
    let ip = local.or(peer)?;
    Some(Address {
        link: names.get(&msg.header.index)?.clone(),
        address: Ipv4Net::new(ip, msg.header.prefix_len).ok()?,
        valid_lifetime: valid,
        preferred_lifetime: preferred,
        protocol,
    })
}

/// An IPv6 link-local `fe80::/64` address the kernel generated.
pub(crate) fn ipv6_link_local(msg: &AddressMessage) -> Option<(u32, Ipv6Addr)> {
    if msg.header.family != AddressFamily::Inet6 || msg.header.prefix_len != 64 {
        return None;
    }
    let mut ip = None;
    let mut kernel_made = true;
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Address(IpAddr::V6(a)) => ip = Some(*a),
            AddressAttribute::Protocol(p) => {
                kernel_made = *p == AddressProtocol::LinkLocal;
            }
            _ => {}
        }
    }
    let ip = ip.filter(|a| a.segments()[0] & 0xffc0 == 0xfe80)?;
    kernel_made.then_some((msg.header.index, ip))
}

fn lifetime(seconds: u32) -> Option<u32> {
    (seconds != INFINITY_LIFE_TIME).then_some(seconds)
}

/// One unicast IPv4 route of the main table; `None` for anything else.
pub(crate) fn route(msg: &RouteMessage, names: &Names) -> Option<Route> {
    let h = &msg.header;
    if h.address_family != AddressFamily::Inet || h.kind != RouteType::Unicast {
        return None;
    }
    let mut table = u32::from(h.table);
    let mut destination = Ipv4Addr::UNSPECIFIED;
    let mut gateway = None;
    let mut oif = None;
    let mut metric = None;
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(RouteAddress::Inet(a)) => destination = *a,
            RouteAttribute::Gateway(RouteAddress::Inet(a)) => gateway = Some(*a),
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::Priority(p) => metric = Some(*p),
            _ => {}
        }
    }
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
        return None;
    }
    Some(Route {
        destination: Ipv4Net::new(destination, h.destination_prefix_length).ok()?,
        gateway,
        link: oif.and_then(|i| names.get(&i).cloned()),
        metric,
        protocol: u8::from(h.protocol),
        scope: scope_name(h.scope),
    })
}

fn scope_name(scope: RouteScope) -> String {
    match scope {
        RouteScope::Universe => "universe".to_owned(),
        RouteScope::Site => "site".to_owned(),
        RouteScope::Link => "link".to_owned(),
        RouteScope::Host => "host".to_owned(),
        RouteScope::NoWhere => "nowhere".to_owned(),
        other => u8::from(other).to_string(),
    }
}
