//! Op → kernel requests. Pure: the messages are built against a state
//! snapshot (for ifindexes) and can be inspected byte by byte in tests, which
//! is how bonds, VLANs and ipvlans are covered on a kernel without them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use ipnet::Ipv4Net;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{
    AddressAttribute, AddressMessage, AddressProtocol, AddressScope, CacheInfo,
};
use netlink_packet_route::link::{
    AfSpecInet6, AfSpecUnspec, BondAdSelect, BondLacpRate, BondMode, BondPrimaryReselect,
    BondXmitHashPolicy, In6AddrGenMode, InfoBond, InfoData, InfoIpVlan, InfoKind, InfoMacVlan,
    InfoVlan, IpVlanMode, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, MacVlanMode,
    VlanProtocol,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use nix::errno::Errno;

use super::error::NetlinkError;
use crate::desired::{DesiredRoute, LinkKind};
use crate::plan::{BondChange, Op, RouteKey};
use crate::state::{Address, KernelState, Route, OWNER_ALIAS, OWNER_PROTOCOL};

/// One kernel write.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// A netlink request with its extra `NLM_F_*` flags. When the kernel
    /// answers `done_on`, the op has nothing (more) to do: that counts as
    /// success and ends the op (e.g. `EAFNOSUPPORT`: the link has no IPv6).
    Netlink {
        msg: RouteNetlinkMessage,
        flags: u16,
        done_on: Option<Errno>,
    },
    /// A write under `/proc/sys/net` (in the handle's namespace); a missing
    /// file means the link has no IPv6 and is skipped.
    Sysctl { path: PathBuf, value: &'static str },
}

/// The writes of one op in stages: a stage is sent only after the previous
/// one succeeded (a new link must exist before its IPv6 settings change).
pub(crate) type Stages = Vec<Vec<Action>>;

/// What building requests needs to know besides the op.
pub(crate) struct Context<'a> {
    /// For ifindexes of the links an op refers to.
    pub state: &'a KernelState,
    /// The namespace has IPv6 (`/proc/sys/net/ipv6` exists).
    pub ipv6: bool,
    /// IPv6 link-local addresses (ifindex, address) with kernel or no
    /// protocol: what `DisableIpv6Auto` removes. Filled only when needed.
    pub link_locals: &'a [(u32, Ipv6Addr)],
}

impl Context<'_> {
    fn index(&self, op: &Op, name: &str) -> Result<u32, NetlinkError> {
        self.state
            .link(name)
            .map(|l| l.index)
            .ok_or_else(|| NetlinkError::NoSuchLink {
                op: op.to_string(),
                link: name.to_owned(),
            })
    }

    /// A link message aimed at `name`: by ifindex when the link is known
    /// (exact even if it is being renamed), else by name (the kernel then
    /// answers `ENODEV` itself).
    fn link_message(&self, name: &str) -> LinkMessage {
        let mut msg = LinkMessage::default();
        match self.state.link(name) {
            Some(l) => msg.header.index = l.index,
            None => msg.attributes.push(LinkAttribute::IfName(name.to_owned())),
        }
        msg
    }
}

fn netlink(msg: RouteNetlinkMessage, flags: u16) -> Action {
    Action::Netlink {
        msg,
        flags,
        done_on: None,
    }
}

fn single(action: Action) -> Stages {
    vec![vec![action]]
}

/// The requests that carry out `op`.
pub(crate) fn build(op: &Op, cx: &Context<'_>) -> Result<Stages, NetlinkError> {
    Ok(match op {
        Op::CreateLink {
            name,
            kind,
            mtu,
            mac,
        } => {
            let mut msg = LinkMessage::default();
            msg.attributes.push(LinkAttribute::IfName(name.clone()));
            msg.attributes
                .push(LinkAttribute::IfAlias(OWNER_ALIAS.to_owned()));
            if let Some(mtu) = mtu {
                msg.attributes.push(LinkAttribute::Mtu(*mtu));
            }
            if let Some(mac) = mac {
                msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
            }
            let (kind, data, parent) = match kind {
                LinkKind::Ethernet => {
                    return Err(NetlinkError::NotCreatable { op: op.to_string() })
                }
                LinkKind::Bond(o) => (
                    InfoKind::Bond,
                    InfoData::Bond(bond_options(op, &BondChange::all_of(o), cx)?),
                    None,
                ),
                LinkKind::Vlan { parent, id } => (
                    InfoKind::Vlan,
                    InfoData::Vlan(vec![
                        InfoVlan::Id(*id),
                        InfoVlan::Protocol(VlanProtocol::Ieee8021Q),
                    ]),
                    Some(parent),
                ),
                LinkKind::Macvlan { parent, mode } => (
                    InfoKind::MacVlan,
                    InfoData::MacVlan(vec![InfoMacVlan::Mode(MacVlanMode::from(u32::from(
                        mode.number(),
                    )))]),
                    Some(parent),
                ),
                LinkKind::Ipvlan { parent, mode } => (
                    InfoKind::IpVlan,
                    InfoData::IpVlan(vec![InfoIpVlan::Mode(IpVlanMode::from(u16::from(
                        mode.number(),
                    )))]),
                    Some(parent),
                ),
            };
            if let Some(parent) = parent {
                msg.attributes
                    .push(LinkAttribute::Link(cx.index(op, parent)?));
            }
            msg.attributes.push(LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(kind),
                LinkInfo::Data(data),
            ]));
            // Created without IFF_UP: nothing runs on it until the plan says.
            let mut stages = vec![vec![netlink(
                RouteNetlinkMessage::NewLink(msg),
                NLM_F_CREATE | NLM_F_EXCL,
            )]];
            // The kernel refuses IFLA_AF_SPEC at creation (EAFNOSUPPORT), so
            // addr_gen_mode is set right after, still before the link is up:
            // no link-local address is ever generated.
            if cx.ipv6 {
                let mut set = LinkMessage::default();
                set.attributes.push(LinkAttribute::IfName(name.clone()));
                set.attributes.push(addr_gen_mode(In6AddrGenMode::None));
                stages.push(vec![netlink(RouteNetlinkMessage::SetLink(set), 0)]);
            }
            stages
        }
        Op::DeleteLink { name } => single(netlink(
            RouteNetlinkMessage::DelLink(cx.link_message(name)),
            0,
        )),
        Op::SetBondOptions { bond, changes } => {
            let mut msg = cx.link_message(bond);
            msg.attributes.push(LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::Bond),
                LinkInfo::Data(InfoData::Bond(bond_options(op, changes, cx)?)),
            ]));
            // Bond options change through RTM_NEWLINK on the existing link
            // (the kernel's changelink), as `ip link set type bond` does.
            single(netlink(RouteNetlinkMessage::NewLink(msg), 0))
        }
        Op::SetMacvlanMode { name, mode } => {
            let mut msg = cx.link_message(name);
            msg.attributes.push(LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::MacVlan),
                LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(
                    MacVlanMode::from(u32::from(mode.number())),
                )])),
            ]));
            single(netlink(RouteNetlinkMessage::NewLink(msg), 0))
        }
        Op::SetUp { name } => single(set_link(cx, name, |m| {
            m.header.flags = LinkFlags::Up;
            m.header.change_mask = LinkFlags::Up;
        })),
        Op::SetDown { name } => single(set_link(cx, name, |m| {
            m.header.change_mask = LinkFlags::Up;
        })),
        Op::SetMaster { port, bond } => {
            let bond = cx.index(op, bond)?;
            single(set_link(cx, port, |m| {
                m.attributes.push(LinkAttribute::Controller(bond))
            }))
        }
        Op::ReleasePort { port } => single(set_link(cx, port, |m| {
            m.attributes.push(LinkAttribute::Controller(0))
        })),
        Op::SetMtu { name, mtu } => single(set_link(cx, name, |m| {
            m.attributes.push(LinkAttribute::Mtu(*mtu))
        })),
        Op::DisableIpv6Auto { name } => {
            if !cx.ipv6 {
                return Ok(Vec::new());
            }
            let mut set = cx.link_message(name);
            set.attributes.push(addr_gen_mode(In6AddrGenMode::None));
            let mut second = vec![sysctl(name, "accept_ra", "0")];
            if let Some(link) = cx.state.link(name) {
                for ip in cx
                    .link_locals
                    .iter()
                    .filter(|(i, _)| *i == link.index)
                    .map(|(_, ip)| ip)
                {
                    second.push(Action::Netlink {
                        msg: RouteNetlinkMessage::DelAddress(ipv6_link_local(link.index, *ip)),
                        flags: 0,
                        done_on: Some(Errno::EADDRNOTAVAIL),
                    });
                }
            }
            vec![
                vec![Action::Netlink {
                    msg: RouteNetlinkMessage::SetLink(set),
                    flags: 0,
                    done_on: Some(Errno::EAFNOSUPPORT),
                }],
                second,
            ]
        }
        Op::EnableIpv6Auto { name } => {
            if !cx.ipv6 {
                return Ok(Vec::new());
            }
            // Through sysctl, not RTM_SETLINK: writing addr_gen_mode there
            // also regenerates the link-local address of an up link, which
            // is what undoing `DisableIpv6Auto` needs.
            vec![vec![
                sysctl(name, "accept_ra", "1"),
                sysctl(name, "addr_gen_mode", "0"),
            ]]
        }
        Op::AddAddress { link, address } => single(netlink(
            RouteNetlinkMessage::NewAddress(address_message(
                cx.index(op, link)?,
                *address,
                OWNER_PROTOCOL,
                None,
            )),
            NLM_F_CREATE | NLM_F_EXCL,
        )),
        Op::DeleteAddress { link, address } => single(netlink(
            RouteNetlinkMessage::DelAddress(address_message(
                cx.index(op, link)?,
                *address,
                0,
                None,
            )),
            0,
        )),
        Op::RestoreAddress { address } => single(netlink(
            RouteNetlinkMessage::NewAddress(restore_address(op, address, cx)?),
            NLM_F_CREATE | NLM_F_EXCL,
        )),
        Op::AddRoute { route } => single(netlink(
            RouteNetlinkMessage::NewRoute(add_route(op, route, cx)?),
            NLM_F_CREATE | NLM_F_EXCL,
        )),
        Op::DeleteRoute { route } => single(netlink(
            RouteNetlinkMessage::DelRoute(delete_route(op, route, cx)?),
            0,
        )),
        Op::RestoreRoute { route } => single(netlink(
            RouteNetlinkMessage::NewRoute(restore_route(op, route, cx)?),
            NLM_F_CREATE | NLM_F_EXCL,
        )),
    })
}

fn set_link(cx: &Context<'_>, name: &str, f: impl FnOnce(&mut LinkMessage)) -> Action {
    let mut msg = cx.link_message(name);
    f(&mut msg);
    netlink(RouteNetlinkMessage::SetLink(msg), 0)
}

fn addr_gen_mode(mode: In6AddrGenMode) -> LinkAttribute {
    LinkAttribute::AfSpecUnspec(vec![AfSpecUnspec::Inet6(vec![AfSpecInet6::AddrGenMode(
        mode,
    )])])
}

fn sysctl(link: &str, key: &str, value: &'static str) -> Action {
    Action::Sysctl {
        path: ["/proc/sys/net/ipv6/conf", link, key].iter().collect(),
        value,
    }
}

/// `IFLA_BOND_*` attributes for the changes, in the order given (the
/// kernel applies them in attribute order; the mode must come first).
fn bond_options(
    op: &Op,
    changes: &[BondChange],
    cx: &Context<'_>,
) -> Result<Vec<InfoBond>, NetlinkError> {
    changes
        .iter()
        .map(|c| {
            Ok(match c {
                BondChange::Mode(m) => InfoBond::Mode(BondMode::from(m.number())),
                BondChange::Miimon(v) => InfoBond::MiiMon(*v),
                BondChange::Updelay(v) => InfoBond::UpDelay(*v),
                BondChange::Downdelay(v) => InfoBond::DownDelay(*v),
                // By ifindex; 0 (no such link) makes the kernel clear it.
                BondChange::Primary(Some(p)) => InfoBond::Primary(cx.index(op, p)?),
                BondChange::Primary(None) => InfoBond::Primary(0),
                BondChange::PrimaryReselect(v) => {
                    InfoBond::PrimaryReselect(BondPrimaryReselect::from(v.number()))
                }
                BondChange::LacpRate(v) => InfoBond::AdLacpRate(BondLacpRate::from(v.number())),
                BondChange::XmitHashPolicy(v) => {
                    InfoBond::XmitHashPolicy(BondXmitHashPolicy::from(v.number()))
                }
                BondChange::MinLinks(v) => InfoBond::MinLinks(*v),
                BondChange::AdSelect(v) => InfoBond::AdSelect(BondAdSelect::from(v.number())),
            })
        })
        .collect()
}

/// An IPv4 address request as `ip address add ADDR brd + dev LINK` sends it.
fn address_message(
    index: u32,
    address: Ipv4Net,
    protocol: u8,
    lifetimes: Option<CacheInfo>,
) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet;
    msg.header.prefix_len = address.prefix_len();
    msg.header.scope = AddressScope::Universe;
    msg.header.index = index;
    let ip = IpAddr::V4(address.addr());
    msg.attributes.push(AddressAttribute::Local(ip));
    msg.attributes.push(AddressAttribute::Address(ip));
    // A broadcast address only makes sense with hosts besides the network
    // and broadcast addresses (/31 and /32 have none).
    if address.prefix_len() < 31 {
        msg.attributes
            .push(AddressAttribute::Broadcast(address.broadcast()));
    }
    if protocol != 0 {
        msg.attributes
            .push(AddressAttribute::Protocol(AddressProtocol::from(protocol)));
    }
    if let Some(c) = lifetimes {
        msg.attributes.push(AddressAttribute::CacheInfo(c));
    }
    msg
}

fn restore_address(op: &Op, a: &Address, cx: &Context<'_>) -> Result<AddressMessage, NetlinkError> {
    let lifetimes = (a.valid_lifetime.is_some() || a.preferred_lifetime.is_some()).then(|| {
        let mut c = CacheInfo::default();
        c.ifa_valid = a.valid_lifetime.unwrap_or(u32::MAX);
        c.ifa_preferred = a.preferred_lifetime.unwrap_or(u32::MAX);
        c
    });
    Ok(address_message(
        cx.index(op, &a.link)?,
        a.address,
        a.protocol,
        lifetimes,
    ))
}

fn ipv6_link_local(index: u32, ip: Ipv6Addr) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = AddressFamily::Inet6;
    msg.header.prefix_len = 64;
    msg.header.scope = AddressScope::Link;
    msg.header.index = index;
    msg.attributes
        .push(AddressAttribute::Address(IpAddr::V6(ip)));
    msg
}

/// A main-table IPv4 unicast route message.
fn route_message(
    destination: Ipv4Net,
    gateway: Option<Ipv4Addr>,
    oif: Option<u32>,
    metric: Option<u32>,
    protocol: u8,
    scope: RouteScope,
) -> RouteMessage {
    let mut msg = RouteMessage::default();
    let h = &mut msg.header;
    h.address_family = AddressFamily::Inet;
    h.destination_prefix_length = destination.prefix_len();
    h.table = RouteHeader::RT_TABLE_MAIN;
    h.protocol = RouteProtocol::from(protocol);
    h.scope = scope;
    h.kind = RouteType::Unicast;
    if destination.prefix_len() > 0 {
        msg.attributes
            .push(RouteAttribute::Destination(RouteAddress::Inet(
                destination.network(),
            )));
    }
    if let Some(gw) = gateway {
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(gw)));
    }
    if let Some(oif) = oif {
        msg.attributes.push(RouteAttribute::Oif(oif));
    }
    if let Some(m) = metric {
        msg.attributes.push(RouteAttribute::Priority(m));
    }
    msg
}

fn add_route(op: &Op, r: &DesiredRoute, cx: &Context<'_>) -> Result<RouteMessage, NetlinkError> {
    // What `ip route add` picks: a route through a gateway reaches beyond
    // the link; one without is on-link.
    let scope = if r.gateway.is_some() {
        RouteScope::Universe
    } else {
        RouteScope::Link
    };
    Ok(route_message(
        r.destination,
        r.gateway,
        Some(cx.index(op, &r.link)?),
        r.metric,
        OWNER_PROTOCOL,
        scope,
    ))
}

fn delete_route(op: &Op, r: &RouteKey, cx: &Context<'_>) -> Result<RouteMessage, NetlinkError> {
    // Protocol 0 and scope nowhere match any route with these keys.
    Ok(route_message(
        r.destination,
        r.gateway,
        Some(cx.index(op, &r.link)?),
        r.metric,
        0,
        RouteScope::NoWhere,
    ))
}

fn restore_route(op: &Op, r: &Route, cx: &Context<'_>) -> Result<RouteMessage, NetlinkError> {
    let oif = r.link.as_deref().map(|l| cx.index(op, l)).transpose()?;
    Ok(route_message(
        r.destination,
        r.gateway,
        oif,
        r.metric,
        r.protocol,
        scope_number(&r.scope),
    ))
}

/// Inverse of the dump's scope names.
fn scope_number(name: &str) -> RouteScope {
    match name {
        "universe" => RouteScope::Universe,
        "site" => RouteScope::Site,
        "link" => RouteScope::Link,
        "host" => RouteScope::Host,
        "nowhere" => RouteScope::NoWhere,
        other => other
            .parse::<u8>()
            .map_or(RouteScope::Universe, RouteScope::from),
    }
}
