//! Kernel messages → n3xnet's [`crate::state`] types.
//!
//! Pure functions, so every kind of link can be tested without a kernel that
//! has it (this build host lacks bonding and 8021q). References between
//! links (master, parent, bond primary, active port) arrive as ifindexes and
//! are resolved to names against the same dump.

use std::collections::HashMap;
use std::fmt::Display;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressMessage, AddressProtocol,
};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, BondAdInfo, BondPortState, In6AddrGenMode, InfoBond, InfoBondPort,
    InfoData, InfoIpVlan, InfoKind, InfoMacVlan, InfoPortData, InfoVlan, LinkAttribute, LinkFlags,
    LinkInfo as NlLinkInfo, LinkMessage, MiiStatus, State, VlanProtocol,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteScope, RouteType,
};
use netlink_packet_route::AddressFamily;

use crate::kinds;
use crate::mac::MacAddr;
use crate::state::{AdInfo, Address, BondInfo, BondPort, Dad, Link, LinkInfo, OperState, Route};

/// `IFA_CACHEINFO` lifetime meaning "forever".
const INFINITY_LIFE_TIME: u32 = u32::MAX;

/// ifindex → name of every link of a dump.
pub(crate) type Names = HashMap<u32, String>;

pub(crate) fn link_names<'m>(msgs: impl IntoIterator<Item = &'m LinkMessage>) -> Names {
    msgs.into_iter()
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
        group: 0,
        // A link without IPv6 (no AF_INET6 block) makes no link-local either.
        ipv6_link_local_off: true,
        bond_port: None,
        carrier_down_count: None,
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
            LinkAttribute::Group(g) => link.group = *g,
            LinkAttribute::OperState(s) => link.operstate = operstate(*s),
            LinkAttribute::CarrierDownCount(n) => link.carrier_down_count = Some(*n),
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
                b.mode = option_name(kinds::BondMode::from_number(n), n);
            }
            InfoBond::MiiMon(v) => b.miimon = *v,
            InfoBond::UpDelay(v) => b.updelay = *v,
            InfoBond::DownDelay(v) => b.downdelay = *v,
            InfoBond::Primary(i) => b.primary = names.get(i).cloned(),
            InfoBond::ActivePort(i) => b.active_port = names.get(i).cloned(),
            InfoBond::PrimaryReselect(v) => {
                let n = u8::from(*v);
                b.primary_reselect = option_name(kinds::PrimaryReselect::from_number(n), n);
            }
            InfoBond::AdLacpRate(v) => {
                let n = u8::from(*v);
                b.lacp_rate = option_name(kinds::LacpRate::from_number(n), n);
            }
            InfoBond::XmitHashPolicy(v) => {
                let n = u8::from(*v);
                b.xmit_hash_policy = option_name(kinds::XmitHashPolicy::from_number(n), n);
            }
            InfoBond::MinLinks(v) => b.min_links = *v,
            InfoBond::AdSelect(v) => {
                let n = u8::from(*v);
                b.ad_select = option_name(kinds::AdSelect::from_number(n), n);
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
                .and_then(kinds::MacvlanMode::from_number),
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
                .and_then(kinds::IpvlanMode::from_number),
            n,
        )
    });
    LinkInfo::Ipvlan { mode }
}

/// One IPv4 or IPv6 address; `None` for other families or unknown links.
pub(crate) fn address(msg: &AddressMessage, names: &Names) -> Option<Address> {
    if !matches!(
        msg.header.family,
        AddressFamily::Inet | AddressFamily::Inet6
    ) {
        return None;
    }
    let mut local = None;
    let mut peer = None;
    let mut valid = None;
    let mut preferred = None;
    let mut protocol = 0;
    // IFA_FLAGS carries all 32 bits; the header's byte is the older copy.
    let mut flags = AddressFlags::from_bits_retain(u32::from(msg.header.flags.bits()));
    for attr in &msg.attributes {
        match attr {
            AddressAttribute::Local(a) => local = Some(*a),
            AddressAttribute::Address(a) => peer = Some(*a),
            AddressAttribute::CacheInfo(c) => {
                valid = lifetime(c.ifa_valid);
                preferred = lifetime(c.ifa_preferred);
            }
            AddressAttribute::Protocol(p) => protocol = u8::from(*p),
            AddressAttribute::Flags(f) => flags = *f,
            _ => {}
        }
    }
    // IFA_LOCAL is the address itself; IFA_ADDRESS the peer of a
    // point-to-point link (both are equal otherwise; IPv6 sends IFA_LOCAL
    // only for a peer address).
    let ip = local.or(peer)?;
    let dad = if flags.contains(AddressFlags::Dadfailed) {
        Some(Dad::Failed)
    } else if flags.contains(AddressFlags::Tentative) {
        Some(Dad::Tentative)
    } else {
        None
    };
    Some(Address {
        link: names.get(&msg.header.index)?.clone(),
        address: IpNet::new(ip, msg.header.prefix_len).ok()?,
        valid_lifetime: valid,
        preferred_lifetime: preferred,
        protocol,
        dad,
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

/// One unicast route of the main table, IPv4 or IPv6; `None` for anything
/// else (other tables, other types, other families, an IPv4 route through
/// an IPv6 gateway).
pub(crate) fn route(msg: &RouteMessage, names: &Names) -> Option<Route> {
    let h = &msg.header;
    let unspecified = match h.address_family {
        AddressFamily::Inet => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        AddressFamily::Inet6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    if h.kind != RouteType::Unicast {
        return None;
    }
    let mut table = u32::from(h.table);
    let mut destination = unspecified;
    let mut gateway = None;
    let mut oif = None;
    let mut metric = None;
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Destination(RouteAddress::Inet(a)) => destination = IpAddr::V4(*a),
            RouteAttribute::Destination(RouteAddress::Inet6(a)) => destination = IpAddr::V6(*a),
            RouteAttribute::Gateway(RouteAddress::Inet(a)) => gateway = Some(IpAddr::V4(*a)),
            RouteAttribute::Gateway(RouteAddress::Inet6(a)) => gateway = Some(IpAddr::V6(*a)),
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::Priority(p) => metric = Some(*p),
            _ => {}
        }
    }
    let same_family = |a: &IpAddr| a.is_ipv6() == unspecified.is_ipv6();
    if table != u32::from(RouteHeader::RT_TABLE_MAIN)
        || !same_family(&destination)
        || !gateway.as_ref().is_none_or(same_family)
    {
        return None;
    }
    Some(Route {
        destination: IpNet::new(destination, h.destination_prefix_length).ok()?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::OWNER_PROTOCOL;
    use netlink_packet_route::address::CacheInfo;
    use netlink_packet_route::link::{
        BondAdSelect, BondLacpRate, BondMode, BondPrimaryReselect, BondXmitHashPolicy,
        InfoPortKind, LacpState, MacVlanMode,
    };
    use netlink_packet_route::route::RouteProtocol;

    fn msg(index: u32, name: &str, mut attrs: Vec<LinkAttribute>) -> LinkMessage {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.attributes.push(LinkAttribute::IfName(name.into()));
        m.attributes.append(&mut attrs);
        m
    }

    fn parse_all(msgs: &[LinkMessage]) -> Vec<Link> {
        let names = link_names(msgs);
        msgs.iter().filter_map(|m| link(m, &names)).collect()
    }

    /// bond0 (802.3ad, ports eth1 + eth2, eth1 active) and bond0.200.
    fn bonded() -> Vec<LinkMessage> {
        let port = |index, name: &str, state, mii| {
            let mut m = msg(
                index,
                name,
                vec![
                    LinkAttribute::Controller(4),
                    LinkAttribute::PermAddress(vec![0x52, 0x54, 0, 0, 0, index as u8]),
                    LinkAttribute::LinkInfo(vec![
                        NlLinkInfo::PortKind(InfoPortKind::Bond),
                        NlLinkInfo::PortData(InfoPortData::BondPort(vec![
                            InfoBondPort::BondPortState(state),
                            InfoBondPort::MiiStatus(mii),
                            InfoBondPort::LinkFailureCount(3),
                            InfoBondPort::PermHwaddr(vec![0x52, 0x54, 0, 0, 0, index as u8]),
                            InfoBondPort::AdAggregatorId(1),
                            InfoBondPort::AdActorOperPortState(LacpState::from_bits_retain(63)),
                            InfoBondPort::AdPartnerOperPortState(LacpState::from_bits_retain(61)),
                        ])),
                    ]),
                ],
            );
            m.header.flags = LinkFlags::Up | LinkFlags::LowerUp;
            m
        };
        vec![
            port(2, "eth1", BondPortState::Active, MiiStatus::Up),
            port(3, "eth2", BondPortState::Backup, MiiStatus::GoingBack),
            msg(
                4,
                "bond0",
                vec![
                    LinkAttribute::IfAlias("n3xnet".into()),
                    LinkAttribute::Group(28211),
                    LinkAttribute::OperState(State::Up),
                    LinkAttribute::LinkInfo(vec![
                        NlLinkInfo::Kind(InfoKind::Bond),
                        NlLinkInfo::Data(InfoData::Bond(vec![
                            InfoBond::Mode(BondMode::Ieee8023Ad),
                            InfoBond::ActivePort(2),
                            InfoBond::MiiMon(100),
                            InfoBond::UpDelay(200),
                            InfoBond::DownDelay(200),
                            InfoBond::Primary(3),
                            InfoBond::PrimaryReselect(BondPrimaryReselect::Failure),
                            InfoBond::XmitHashPolicy(BondXmitHashPolicy::Layer34),
                            InfoBond::MinLinks(1),
                            InfoBond::AdLacpRate(BondLacpRate::Fast),
                            InfoBond::AdSelect(BondAdSelect::Count),
                            InfoBond::AdInfo(vec![
                                BondAdInfo::Aggregator(1),
                                BondAdInfo::NumPorts(2),
                                BondAdInfo::ActorKey(9),
                                BondAdInfo::PartnerKey(33),
                                BondAdInfo::PartnerMac([2, 0, 0, 0, 0, 1]),
                            ]),
                        ])),
                    ]),
                    LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(vec![
                        AfSpecInet6::AddrGenMode(In6AddrGenMode::None),
                    ])]),
                ],
            ),
            msg(
                5,
                "bond0.200",
                vec![
                    LinkAttribute::Link(4),
                    LinkAttribute::LinkInfo(vec![
                        NlLinkInfo::Kind(InfoKind::Vlan),
                        NlLinkInfo::Data(InfoData::Vlan(vec![
                            InfoVlan::Id(200),
                            InfoVlan::Protocol(VlanProtocol::Ieee8021Ad),
                        ])),
                    ]),
                    LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(vec![
                        AfSpecInet6::AddrGenMode(In6AddrGenMode::Eui64),
                    ])]),
                ],
            ),
        ]
    }

    #[test]
    fn bond_with_every_option_and_its_ports() {
        let links = parse_all(&bonded());
        let bond = &links[2];
        let LinkInfo::Bond(b) = &bond.info else {
            panic!("{:?}", bond.info)
        };
        assert_eq!(
            *b,
            BondInfo {
                mode: "802.3ad".into(),
                miimon: 100,
                updelay: 200,
                downdelay: 200,
                primary: Some("eth2".into()),
                primary_reselect: "failure".into(),
                lacp_rate: "fast".into(),
                xmit_hash_policy: "layer3+4".into(),
                min_links: 1,
                ad_select: "count".into(),
                active_port: Some("eth1".into()),
                ad_info: Some(AdInfo {
                    aggregator_id: 1,
                    num_ports: 2,
                    actor_key: 9,
                    partner_key: 33,
                    partner_mac: MacAddr([2, 0, 0, 0, 0, 1]),
                }),
            }
        );
        assert!(bond.is_owned() && bond.in_owner_group());
        assert_eq!(links[0].group, 0, "no IFLA_GROUP: the default group");
        assert!(bond.ipv6_link_local_off);
        assert_eq!(bond.operstate, OperState::Up);

        let eth1 = &links[0];
        assert_eq!(eth1.master.as_deref(), Some("bond0"));
        assert!(eth1.admin_up && eth1.carrier);
        assert_eq!(eth1.permanent_mac, Some(MacAddr([0x52, 0x54, 0, 0, 0, 2])));
        assert!(
            eth1.ipv6_link_local_off,
            "no AF_INET6 block: no IPv6 at all"
        );
        assert_eq!(
            eth1.bond_port,
            Some(BondPort {
                state: "active".into(),
                mii_status: "up".into(),
                link_failure_count: 3,
                permanent_mac: Some(MacAddr([0x52, 0x54, 0, 0, 0, 2])),
                aggregator_id: Some(1),
                actor_oper_port_state: Some(63),
                partner_oper_port_state: Some(61),
            })
        );
        let eth2 = links[1].bond_port.as_ref().unwrap();
        assert_eq!(
            (eth2.state.as_str(), eth2.mii_status.as_str()),
            ("backup", "going-back")
        );
    }

    #[test]
    fn vlan_on_its_parent() {
        let links = parse_all(&bonded());
        let vlan = &links[3];
        assert_eq!(
            vlan.info,
            LinkInfo::Vlan {
                id: 200,
                protocol: "802.1ad".into()
            }
        );
        assert_eq!(vlan.parent.as_deref(), Some("bond0"));
        assert!(!vlan.ipv6_link_local_off);
    }

    #[test]
    fn lower_link_in_another_namespace_is_not_resolved() {
        let msgs = vec![
            msg(2, "eth0", vec![]),
            msg(
                3,
                "mv0",
                vec![
                    LinkAttribute::Link(2),
                    LinkAttribute::LinkNetNsId(0),
                    LinkAttribute::LinkInfo(vec![
                        NlLinkInfo::Kind(InfoKind::MacVlan),
                        NlLinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                            MacVlanMode::Vepa,
                        )])),
                    ]),
                ],
            ),
        ];
        let links = parse_all(&msgs);
        assert_eq!(links[1].parent, None);
        assert_eq!(
            links[1].info,
            LinkInfo::Macvlan {
                mode: "vepa".into()
            }
        );
    }

    #[test]
    fn unknown_kinds_keep_their_name() {
        let m = msg(
            9,
            "wg0",
            vec![LinkAttribute::LinkInfo(vec![NlLinkInfo::Kind(
                InfoKind::Other("wireguard".into()),
            )])],
        );
        assert_eq!(
            parse_all(&[m])[0].info,
            LinkInfo::Other {
                kind: "wireguard".into()
            }
        );
    }

    fn names() -> Names {
        [(2, "eth1".to_owned())].into_iter().collect()
    }

    #[test]
    fn address_lifetimes_and_protocol() {
        let mut m = AddressMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.prefix_len = 24;
        m.header.index = 2;
        let mut ci = CacheInfo::default();
        ci.ifa_valid = 3600;
        ci.ifa_preferred = u32::MAX;
        m.attributes = vec![
            AddressAttribute::Address(IpAddr::V4("10.0.0.1".parse().unwrap())),
            AddressAttribute::Local(IpAddr::V4("10.0.0.5".parse().unwrap())),
            AddressAttribute::CacheInfo(ci),
            AddressAttribute::Protocol(AddressProtocol::from(110)),
        ];
        let a = address(&m, &names()).unwrap();
        assert_eq!(
            a.address.to_string(),
            "10.0.0.5/24",
            "IFA_LOCAL is the address"
        );
        assert_eq!((a.valid_lifetime, a.preferred_lifetime), (Some(3600), None));
        assert!(a.is_owned() && a.is_dynamic());
        m.header.index = 99;
        assert_eq!(address(&m, &names()), None, "unknown link");
    }

    #[test]
    fn only_main_table_unicast_ipv4_routes() {
        let route_msg = |table: u8, kind| {
            let mut m = RouteMessage::default();
            m.header.address_family = AddressFamily::Inet;
            m.header.destination_prefix_length = 16;
            m.header.table = table;
            m.header.kind = kind;
            m.header.protocol = RouteProtocol::Static;
            m.attributes = vec![
                RouteAttribute::Destination(RouteAddress::Inet("10.50.0.0".parse().unwrap())),
                RouteAttribute::Gateway(RouteAddress::Inet("10.0.0.1".parse().unwrap())),
                RouteAttribute::Oif(2),
                RouteAttribute::Priority(20),
            ];
            m
        };
        let r = route(&route_msg(254, RouteType::Unicast), &names()).unwrap();
        assert_eq!(
            r,
            Route {
                destination: "10.50.0.0/16".parse().unwrap(),
                gateway: Some("10.0.0.1".parse().unwrap()),
                link: Some("eth1".into()),
                metric: Some(20),
                protocol: 4,
                scope: "universe".into(),
            }
        );
        assert_eq!(route(&route_msg(255, RouteType::Unicast), &names()), None);
        assert_eq!(route(&route_msg(254, RouteType::BlackHole), &names()), None);
        // Tables above 255 are in RTA_TABLE; the header then says 252.
        let mut big = route_msg(252, RouteType::Unicast);
        big.attributes.push(RouteAttribute::Table(1000));
        assert_eq!(route(&big, &names()), None);
    }

    #[test]
    fn main_table_ipv6_routes_of_one_family() {
        let v6 = |dst: RouteAddress, gw: RouteAddress| {
            let mut m = RouteMessage::default();
            m.header.address_family = AddressFamily::Inet6;
            m.header.destination_prefix_length = 48;
            m.header.table = 254;
            m.header.kind = RouteType::Unicast;
            m.header.protocol = RouteProtocol::from(OWNER_PROTOCOL);
            m.attributes = vec![
                RouteAttribute::Destination(dst),
                RouteAttribute::Gateway(gw),
                RouteAttribute::Oif(2),
                RouteAttribute::Priority(1024),
            ];
            m
        };
        let fd = |s: &str| RouteAddress::Inet6(s.parse().unwrap());
        let r = route(&v6(fd("fd00:50::"), fd("fe80::1")), &names()).unwrap();
        assert_eq!(
            r,
            Route {
                destination: "fd00:50::/48".parse().unwrap(),
                gateway: Some("fe80::1".parse().unwrap()),
                link: Some("eth1".into()),
                metric: Some(1024),
                protocol: OWNER_PROTOCOL,
                scope: "universe".into(),
            }
        );
        assert!(r.is_owned());
        // An IPv4 gateway in an IPv6 route (or the reverse) is no route of ours.
        let mixed = v6(
            fd("fd00:50::"),
            RouteAddress::Inet("10.0.0.1".parse().unwrap()),
        );
        assert_eq!(route(&mixed, &names()), None);
    }

    #[test]
    fn kernel_link_locals_only() {
        let ll = |ip: &str, len, proto: Option<u8>| {
            let mut m = AddressMessage::default();
            m.header.family = AddressFamily::Inet6;
            m.header.prefix_len = len;
            m.header.index = 2;
            m.attributes
                .push(AddressAttribute::Address(IpAddr::V6(ip.parse().unwrap())));
            if let Some(p) = proto {
                m.attributes
                    .push(AddressAttribute::Protocol(AddressProtocol::from(p)));
            }
            ipv6_link_local(&m)
        };
        assert!(
            ll("fe80::1", 64, None).is_some(),
            "pre-5.18 kernels give no protocol"
        );
        assert!(ll("fe80::1", 64, Some(3)).is_some());
        assert_eq!(ll("fe80::1", 64, Some(4)), None, "added by someone");
        assert_eq!(ll("2001:db8::1", 64, None), None);
        assert_eq!(ll("fe80::1", 128, None), None);
    }
}
