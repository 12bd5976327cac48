//! Op → kernel requests. Pure: the messages are built against a state
//! snapshot (for ifindexes) and can be inspected byte by byte in tests, which
//! is how bonds, VLANs and ipvlans are covered on a kernel without them.

use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

use ipnet::IpNet;
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
use crate::desired::{DesiredRoute, LinkKind, IPV6_MIN_MTU};
use crate::plan::{BondChange, Op, RouteKey};
use crate::state::{Address, KernelState, Route, OWNER_ALIAS, OWNER_GROUP, OWNER_PROTOCOL};

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
            // The one mark the kernel takes in the creating request: from
            // its first instant the link is recognisably n3xnet's, even if
            // the process dies before the alias below reaches the kernel.
            msg.attributes.push(LinkAttribute::Group(OWNER_GROUP));
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
            let create = netlink(RouteNetlinkMessage::NewLink(msg), NLM_F_CREATE | NLM_F_EXCL);
            // The kernel ignores IFLA_IFALIAS and refuses IFLA_AF_SPEC
            // (EAFNOSUPPORT) in a creating RTM_NEWLINK (seen on 6.18), so
            // both follow in one RTM_SETLINK by name (a crash before it
            // leaves a link marked by its group alone, which the next plan
            // completes with `SetAlias`), still before
            // the link is up: no link-local address is ever generated. Not
            // with IFF_UP: the kernel changes flags before IFLA_AF_SPEC, and
            // a link coming up with `eui64` gets its link-local at once. On
            // a link that will have no IPv6 the kernel refuses the whole
            // request over IFLA_AF_SPEC, so there the alias goes alone.
            let mut mark = LinkMessage::default();
            mark.attributes.push(LinkAttribute::IfName(name.clone()));
            mark.attributes
                .push(LinkAttribute::IfAlias(OWNER_ALIAS.to_owned()));
            if cx.ipv6 && created_mtu(*mtu, parent, cx).is_none_or(|m| m >= IPV6_MIN_MTU) {
                mark.attributes.push(addr_gen_mode(In6AddrGenMode::None));
            }
            vec![
                vec![create],
                vec![netlink(RouteNetlinkMessage::SetLink(mark), 0)],
            ]
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
        // An empty alias is how the kernel removes one (`dev_set_alias`).
        Op::SetAlias { name, alias } => single(set_link(cx, name, |m| {
            m.attributes
                .push(LinkAttribute::IfAlias(alias.clone().unwrap_or_default()))
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
        Op::EnableIpv6Auto { name, regenerate } => {
            if !cx.ipv6 {
                return Ok(Vec::new());
            }
            if *regenerate {
                // Through sysctl, not RTM_SETLINK: writing addr_gen_mode there
                // also regenerates the link-local address of an up link, which
                // is what undoing `DisableIpv6Auto` needs.
                vec![vec![
                    sysctl(name, "accept_ra", "1"),
                    sysctl(name, "addr_gen_mode", "0"),
                ]]
            } else {
                // A down link: the sysctl would add a link-local it never had;
                // by netlink the kernel makes one only when the link goes up.
                let mut set = cx.link_message(name);
                set.attributes.push(addr_gen_mode(In6AddrGenMode::Eui64));
                vec![vec![
                    Action::Netlink {
                        msg: RouteNetlinkMessage::SetLink(set),
                        flags: 0,
                        done_on: Some(Errno::EAFNOSUPPORT),
                    },
                    sysctl(name, "accept_ra", "1"),
                ]]
            }
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

/// The MTU a link is created with: the op's, else its parent's (VLANs,
/// macvlans and ipvlans inherit it); `None` when the kernel's default for
/// the kind applies (a bond: 1500).
fn created_mtu(mtu: Option<u32>, parent: Option<&String>, cx: &Context<'_>) -> Option<u32> {
    mtu.or_else(|| parent.and_then(|p| cx.state.link(p)).map(|l| l.mtu))
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

/// An address request as `ip address add ADDR brd + dev LINK` sends it
/// (IPv6: `ip -6 address add ADDR dev LINK`, with duplicate address
/// detection, see [`crate::state::Dad`]).
pub(super) fn address_message(
    index: u32,
    address: IpNet,
    protocol: u8,
    lifetimes: Option<CacheInfo>,
) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.prefix_len = address.prefix_len();
    msg.header.index = index;
    let ip = address.addr();
    msg.attributes.push(AddressAttribute::Local(ip));
    msg.attributes.push(AddressAttribute::Address(ip));
    match address {
        IpNet::V4(v4) => {
            msg.header.family = AddressFamily::Inet;
            msg.header.scope = AddressScope::Universe;
            // A broadcast address only makes sense with hosts besides the
            // network and broadcast addresses (/31 and /32 have none).
            if v4.prefix_len() < 31 {
                msg.attributes
                    .push(AddressAttribute::Broadcast(v4.broadcast()));
            }
        }
        IpNet::V6(v6) => {
            msg.header.family = AddressFamily::Inet6;
            msg.header.scope = if v6.addr().is_unicast_link_local() {
                AddressScope::Link
            } else {
                AddressScope::Universe
            };
        }
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

/// A main-table unicast route message of `destination`'s family.
pub(super) fn route_message(
    destination: IpNet,
    gateway: Option<IpAddr>,
    oif: Option<u32>,
    metric: Option<u32>,
    protocol: u8,
    scope: RouteScope,
) -> RouteMessage {
    let mut msg = RouteMessage::default();
    let h = &mut msg.header;
    h.address_family = match destination {
        IpNet::V4(_) => AddressFamily::Inet,
        IpNet::V6(_) => AddressFamily::Inet6,
    };
    h.destination_prefix_length = destination.prefix_len();
    h.table = RouteHeader::RT_TABLE_MAIN;
    h.protocol = RouteProtocol::from(protocol);
    h.scope = scope;
    h.kind = RouteType::Unicast;
    if destination.prefix_len() > 0 {
        msg.attributes
            .push(RouteAttribute::Destination(RouteAddress::from(
                destination.network(),
            )));
    }
    if let Some(gw) = gateway {
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(gw)));
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
    // the link; one without is on-link. IPv6 routes have no scope (the
    // kernel holds and dumps every one as universe).
    let scope = if r.gateway.is_some() || r.destination.addr().is_ipv6() {
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

#[cfg(test)]
mod tests {
    //! The kernel's attribute numbers (linux/if_link.h, if_addr.h,
    //! rtnetlink.h) are written out here on purpose: these tests check the
    //! bytes the kernel will parse, not the library's own view of them.

    use super::*;
    use crate::desired::BondOptions;
    use crate::kinds::{
        AdSelect, BondMode as Mode, IpvlanMode, LacpRate, MacvlanMode, PrimaryReselect,
        XmitHashPolicy,
    };
    use crate::mac::MacAddr;
    use crate::state::fixtures::{nic, state};
    use netlink_packet_core::Emitable;

    const IFLA_ADDRESS: u16 = 1;
    const IFLA_IFNAME: u16 = 3;
    const IFLA_MTU: u16 = 4;
    const IFLA_LINK: u16 = 5;
    const IFLA_MASTER: u16 = 10;
    const IFLA_LINKINFO: u16 = 18;
    const IFLA_IFALIAS: u16 = 20;
    const IFLA_GROUP: u16 = 27;
    const IFLA_AF_SPEC: u16 = 26;
    const IFLA_INFO_KIND: u16 = 1;
    const IFLA_INFO_DATA: u16 = 2;
    const AF_INET6: u16 = 10;
    const IFLA_INET6_ADDR_GEN_MODE: u16 = 8;
    const IFF_UP: u32 = 1;

    /// (type, value) of each attribute in `buf`.
    fn nlas(mut buf: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let mut out = Vec::new();
        while buf.len() >= 4 {
            let len = usize::from(u16::from_ne_bytes([buf[0], buf[1]]));
            let kind = u16::from_ne_bytes([buf[2], buf[3]]) & 0x3fff;
            out.push((kind, buf[4..len].to_vec()));
            buf = &buf[((len + 3) & !3).min(buf.len())..];
        }
        out
    }

    fn attr(attrs: &[(u16, Vec<u8>)], kind: u16) -> Vec<u8> {
        attrs
            .iter()
            .find(|(k, _)| *k == kind)
            .unwrap_or_else(|| panic!("no attribute {kind} in {attrs:?}"))
            .1
            .clone()
    }

    fn u32_of(v: &[u8]) -> u32 {
        u32::from_ne_bytes(v.try_into().unwrap())
    }

    /// Bytes of a message body (after the netlink header).
    fn body(action: &Action) -> (Vec<u8>, u16) {
        let Action::Netlink { msg, flags, .. } = action else {
            panic!("not a netlink action: {action:?}")
        };
        let mut buf = vec![0; msg.buffer_len()];
        msg.emit(&mut buf);
        (buf, *flags)
    }

    /// Header fields (ifindex, flags, change mask), attributes and netlink
    /// flags of a link message.
    type LinkBody = (u32, u32, u32, Vec<(u16, Vec<u8>)>, u16);

    fn link_body(action: &Action) -> LinkBody {
        let (buf, flags) = body(action);
        let index = u32_of(&buf[4..8]);
        let ifi_flags = u32_of(&buf[8..12]);
        let change = u32_of(&buf[12..16]);
        (index, ifi_flags, change, nlas(&buf[16..]), flags)
    }

    /// Kind and IFLA_INFO_DATA attributes of a link message.
    fn info_data(attrs: &[(u16, Vec<u8>)]) -> (String, Vec<(u16, Vec<u8>)>) {
        let info = nlas(&attr(attrs, IFLA_LINKINFO));
        let kind = String::from_utf8(attr(&info, IFLA_INFO_KIND))
            .unwrap()
            .trim_end_matches('\0')
            .to_owned();
        (kind, nlas(&attr(&info, IFLA_INFO_DATA)))
    }

    fn node() -> KernelState {
        state(vec![
            nic(1, "lo", true),
            nic(2, "eth1", true),
            nic(3, "eth2", true),
            nic(7, "bond0", true),
        ])
    }

    fn build_with(op: &Op, st: &KernelState) -> Result<Stages, NetlinkError> {
        build(
            op,
            &Context {
                state: st,
                ipv6: true,
                link_locals: &[
                    (2, "fe80::1".parse().unwrap()),
                    (3, "fe80::2".parse().unwrap()),
                ],
            },
        )
    }

    fn build_one(op: &Op) -> Stages {
        build_with(op, &node()).unwrap()
    }

    fn bond_op(o: BondOptions) -> Op {
        Op::CreateLink {
            name: "bond0".into(),
            kind: LinkKind::Bond(o),
            mtu: Some(9000),
            mac: Some(MacAddr([0x52, 0x54, 0, 1, 1, 1])),
        }
    }

    fn active_backup() -> BondOptions {
        BondOptions {
            mode: Mode::ActiveBackup,
            members: vec!["eth1".into(), "eth2".into()],
            primary: Some("eth2".into()),
            miimon: 100,
            updelay: 200,
            downdelay: 200,
            primary_reselect: Some(PrimaryReselect::Always),
            lacp_rate: None,
            xmit_hash_policy: None,
            min_links: 0,
            ad_select: None,
        }
    }

    #[test]
    fn bond_creation_carries_every_option_mode_first() {
        let stages = build_one(&bond_op(active_backup()));
        assert_eq!(stages.len(), 2, "create, then alias and addr_gen_mode");
        let (index, ifi_flags, _, attrs, flags) = link_body(&stages[0][0]);
        assert_eq!(index, 0, "a new link has no index yet");
        assert_eq!(ifi_flags & IFF_UP, 0, "created down");
        assert_eq!(flags, NLM_F_CREATE | NLM_F_EXCL);
        assert_eq!(attr(&attrs, IFLA_IFNAME), b"bond0\0");
        assert_eq!(u32_of(&attr(&attrs, IFLA_MTU)), 9000);
        assert_eq!(attr(&attrs, IFLA_ADDRESS), [0x52, 0x54, 0, 1, 1, 1]);
        assert_eq!(u32_of(&attr(&attrs, IFLA_GROUP)), 28211, "marked at birth");
        let (kind, data) = info_data(&attrs);
        assert_eq!(kind, "bond");
        // IFLA_BOND_MODE 1, MIIMON 3, UPDELAY 4, DOWNDELAY 5, PRIMARY 11
        // (an ifindex), PRIMARY_RESELECT 12, MIN_LINKS 18.
        let expected: Vec<(u16, Vec<u8>)> = vec![
            (1, vec![1]),
            (3, 100u32.to_ne_bytes().to_vec()),
            (4, 200u32.to_ne_bytes().to_vec()),
            (5, 200u32.to_ne_bytes().to_vec()),
            (11, 3u32.to_ne_bytes().to_vec()),
            (12, vec![0]),
            (18, 0u32.to_ne_bytes().to_vec()),
        ];
        assert_eq!(data, expected);
    }

    #[test]
    fn a_created_bond_reads_back_as_desired() {
        let st = node();
        let stages = build_one(&bond_op(active_backup()));
        let Action::Netlink {
            msg: RouteNetlinkMessage::NewLink(m),
            ..
        } = &stages[0][0]
        else {
            panic!()
        };
        let names = st.links.iter().map(|l| (l.index, l.name.clone())).collect();
        let back = crate::netlink::parse::link(m, &names).unwrap();
        let crate::state::LinkInfo::Bond(b) = &back.info else {
            panic!()
        };
        let o = active_backup();
        for c in BondChange::all_of(&o) {
            assert!(crate::plan::bond::holds(b, &c), "{c} lost: {b:?}");
        }
        assert_eq!(back.mtu, 9000);
        assert!(
            back.in_owner_group() && !back.is_owned(),
            "the alias follows"
        );
    }

    #[test]
    fn lacp_bond_options() {
        let o = BondOptions {
            mode: Mode::Lacp,
            primary: None,
            primary_reselect: None,
            lacp_rate: Some(LacpRate::Fast),
            xmit_hash_policy: Some(XmitHashPolicy::Layer34),
            min_links: 1,
            ad_select: Some(AdSelect::Bandwidth),
            ..active_backup()
        };
        let (_, _, _, attrs, _) = link_body(&build_one(&bond_op(o))[0][0]);
        let (_, data) = info_data(&attrs);
        let kinds: Vec<u16> = data.iter().map(|(k, _)| *k).collect();
        // MODE, MIIMON, UPDELAY, DOWNDELAY, XMIT_HASH_POLICY 14, MIN_LINKS,
        // AD_LACP_RATE 21, AD_SELECT 22.
        assert_eq!(kinds, [1, 3, 4, 5, 14, 18, 21, 22]);
        assert_eq!(attr(&data, 1), [4]);
        assert_eq!(attr(&data, 14), [1]);
        assert_eq!(attr(&data, 21), [1]);
        assert_eq!(attr(&data, 22), [1]);
    }

    #[test]
    fn bond_option_changes_go_to_the_existing_bond() {
        let op = Op::SetBondOptions {
            bond: "bond0".into(),
            changes: vec![BondChange::Miimon(250), BondChange::Primary(None)],
        };
        let stages = build_one(&op);
        let Action::Netlink { msg, .. } = &stages[0][0] else {
            panic!()
        };
        assert!(
            matches!(msg, RouteNetlinkMessage::NewLink(_)),
            "changelink is RTM_NEWLINK"
        );
        let (index, _, _, attrs, flags) = link_body(&stages[0][0]);
        assert_eq!((index, flags), (7, 0), "by ifindex, without NLM_F_CREATE");
        let (kind, data) = info_data(&attrs);
        assert_eq!(kind, "bond");
        assert_eq!(
            data,
            vec![
                (3, 250u32.to_ne_bytes().to_vec()),
                (11, 0u32.to_ne_bytes().to_vec())
            ],
            "primary none is ifindex 0"
        );
    }

    #[test]
    fn vlan_is_8021q_on_its_parent_and_gets_no_link_local() {
        let op = Op::CreateLink {
            name: "bond0.200".into(),
            kind: LinkKind::Vlan {
                parent: "bond0".into(),
                id: 200,
            },
            mtu: None,
            mac: None,
        };
        let stages = build_one(&op);
        let (_, _, _, attrs, _) = link_body(&stages[0][0]);
        assert_eq!(u32_of(&attr(&attrs, IFLA_LINK)), 7);
        assert_eq!(u32_of(&attr(&attrs, IFLA_GROUP)), OWNER_GROUP);
        assert!(attrs
            .iter()
            .all(|(k, _)| *k != IFLA_MTU && *k != IFLA_ADDRESS));
        let (kind, data) = info_data(&attrs);
        assert_eq!(kind, "vlan");
        // IFLA_VLAN_ID 1 (u16), IFLA_VLAN_PROTOCOL 5 (big-endian 0x8100).
        assert_eq!(attr(&data, 1), 200u16.to_ne_bytes());
        assert_eq!(attr(&data, 5), [0x81, 0x00]);

        // Then, by name and in one request, the ownership alias and
        // addr_gen_mode none inside AF_SPEC/AF_INET6.
        assert_eq!(stages[1].len(), 1);
        let (index, _, _, attrs, flags) = link_body(&stages[1][0]);
        assert_eq!((index, flags), (0, 0));
        assert_eq!(attr(&attrs, IFLA_IFNAME), b"bond0.200\0");
        assert_eq!(attr(&attrs, IFLA_IFALIAS), b"n3xnet\0");
        let inet6 = nlas(&attr(&nlas(&attr(&attrs, IFLA_AF_SPEC)), AF_INET6));
        assert_eq!(inet6, vec![(IFLA_INET6_ADDR_GEN_MODE, vec![1])]);
    }

    #[test]
    fn a_link_too_small_for_ipv6_gets_only_the_alias() {
        let mut st = node();
        st.links[1].mtu = 1200;
        assert_eq!(st.links[1].name, "eth1");
        let on_small = |mtu| Op::CreateLink {
            name: "shim".into(),
            kind: LinkKind::Macvlan {
                parent: "eth1".into(),
                mode: MacvlanMode::Bridge,
            },
            mtu,
            mac: None,
        };
        let af_spec = |op: &Op| {
            let stages = build_with(op, &st).unwrap();
            let (_, _, _, attrs, _) = link_body(&stages[1][0]);
            assert_eq!(attr(&attrs, IFLA_IFALIAS), b"n3xnet\0");
            attrs.iter().any(|(k, _)| *k == IFLA_AF_SPEC)
        };
        assert!(!af_spec(&on_small(None)), "inherits eth1's 1200");
        assert!(af_spec(&on_small(Some(1280))));
        assert!(af_spec(&bond_op(active_backup())), "a bond at 9000");
    }

    #[test]
    fn macvlan_and_ipvlan_modes() {
        let mk = |kind| Op::CreateLink {
            name: "shim".into(),
            kind,
            mtu: None,
            mac: None,
        };
        let (_, _, _, attrs, _) = link_body(
            &build_one(&mk(LinkKind::Macvlan {
                parent: "eth1".into(),
                mode: MacvlanMode::Bridge,
            }))[0][0],
        );
        let (kind, data) = info_data(&attrs);
        // IFLA_MACVLAN_MODE 1: u32 MACVLAN_MODE_BRIDGE = 4.
        assert_eq!(
            (kind.as_str(), attr(&data, 1)),
            ("macvlan", 4u32.to_ne_bytes().to_vec())
        );

        let (_, _, _, attrs, _) = link_body(
            &build_one(&mk(LinkKind::Ipvlan {
                parent: "eth1".into(),
                mode: IpvlanMode::L3s,
            }))[0][0],
        );
        let (kind, data) = info_data(&attrs);
        // IFLA_IPVLAN_MODE 1: u16 IPVLAN_MODE_L3S = 2.
        assert_eq!(
            (kind.as_str(), attr(&data, 1)),
            ("ipvlan", 2u16.to_ne_bytes().to_vec())
        );
        assert_eq!(u32_of(&attr(&attrs, IFLA_LINK)), 2);
    }

    #[test]
    fn without_ipv6_only_the_alias_follows_creation() {
        let op = bond_op(active_backup());
        let st = node();
        let stages = build(
            &op,
            &Context {
                state: &st,
                ipv6: false,
                link_locals: &[],
            },
        )
        .unwrap();
        assert_eq!(stages.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1]);
    }

    #[test]
    fn an_alias_is_set_and_removed_on_the_existing_link() {
        let set = |alias: Option<&str>| {
            let op = Op::SetAlias {
                name: "eth1".into(),
                alias: alias.map(str::to_owned),
            };
            let (index, _, change, attrs, flags) = link_body(&build_one(&op)[0][0]);
            assert_eq!((index, change, flags), (2, 0, 0), "{op}");
            assert_eq!(attrs.len(), 1, "{op}: {attrs:?}");
            attr(&attrs, IFLA_IFALIAS)
        };
        assert_eq!(set(Some("n3xnet")), b"n3xnet\0");
        // Length 1, an empty string: the kernel then reports no alias.
        assert_eq!(set(None), b"\0");
    }

    #[test]
    fn up_down_master_nomaster() {
        let (index, flags, change, _, _) = link_body(
            &build_one(&Op::SetUp {
                name: "eth1".into(),
            })[0][0],
        );
        assert_eq!((index, flags, change), (2, IFF_UP, IFF_UP));
        let (_, flags, change, _, _) = link_body(
            &build_one(&Op::SetDown {
                name: "eth1".into(),
            })[0][0],
        );
        assert_eq!((flags, change), (0, IFF_UP));
        let (index, _, _, attrs, _) = link_body(
            &build_one(&Op::SetMaster {
                port: "eth2".into(),
                bond: "bond0".into(),
            })[0][0],
        );
        assert_eq!((index, u32_of(&attr(&attrs, IFLA_MASTER))), (3, 7));
        let (_, _, _, attrs, _) = link_body(
            &build_one(&Op::ReleasePort {
                port: "eth2".into(),
            })[0][0],
        );
        assert_eq!(u32_of(&attr(&attrs, IFLA_MASTER)), 0);
    }

    #[test]
    fn an_unknown_link_is_addressed_by_name_and_an_unknown_reference_fails() {
        let (index, _, _, attrs, _) = link_body(
            &build_one(&Op::SetUp {
                name: "ghost".into(),
            })[0][0],
        );
        assert_eq!((index, attr(&attrs, IFLA_IFNAME)), (0, b"ghost\0".to_vec()));
        let err = build_with(
            &Op::SetMaster {
                port: "eth1".into(),
                bond: "bond9".into(),
            },
            &node(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`set eth1 master bond9`: link `bond9` does not exist"
        );
    }

    #[test]
    fn owned_address_has_our_protocol_and_a_broadcast() {
        let op = Op::AddAddress {
            link: "eth1".into(),
            address: "192.168.200.1/24".parse().unwrap(),
        };
        let (buf, flags) = body(&build_one(&op)[0][0]);
        assert_eq!(flags, NLM_F_CREATE | NLM_F_EXCL);
        // ifaddrmsg: family, prefixlen, flags, scope, index.
        assert_eq!(buf[..4], [2, 24, 0, 0]);
        assert_eq!(u32_of(&buf[4..8]), 2);
        let attrs = nlas(&buf[8..]);
        // IFA_ADDRESS 1, IFA_LOCAL 2, IFA_BROADCAST 4, IFA_PROTO 11.
        assert_eq!(attr(&attrs, 1), [192, 168, 200, 1]);
        assert_eq!(attr(&attrs, 2), [192, 168, 200, 1]);
        assert_eq!(attr(&attrs, 4), [192, 168, 200, 255]);
        assert_eq!(attr(&attrs, 11), [OWNER_PROTOCOL]);
    }

    #[test]
    fn restored_address_keeps_protocol_and_lifetimes() {
        let op = Op::RestoreAddress {
            address: Address {
                link: "eth1".into(),
                address: "10.0.0.5/31".parse().unwrap(),
                valid_lifetime: Some(600),
                preferred_lifetime: None,
                protocol: 0,
                dad: None,
            },
        };
        let (buf, _) = body(&build_one(&op)[0][0]);
        let attrs = nlas(&buf[8..]);
        let kinds: Vec<u16> = attrs.iter().map(|(k, _)| *k).collect();
        // No broadcast on a /31, no IFA_PROTO for protocol 0; IFA_CACHEINFO 6
        // is (preferred, valid, cstamp, tstamp).
        assert_eq!(kinds, [2, 1, 6]);
        let ci = attr(&attrs, 6);
        assert_eq!((u32_of(&ci[0..4]), u32_of(&ci[4..8])), (u32::MAX, 600));
    }

    #[test]
    fn owned_default_route() {
        let op = Op::AddRoute {
            route: DesiredRoute {
                destination: "0.0.0.0/0".parse().unwrap(),
                gateway: Some("10.0.1.1".parse().unwrap()),
                link: "bond0".into(),
                metric: Some(50),
            },
        };
        let (buf, flags) = body(&build_one(&op)[0][0]);
        assert_eq!(flags, NLM_F_CREATE | NLM_F_EXCL);
        // rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type.
        assert_eq!(buf[..8], [2, 0, 0, 0, 254, OWNER_PROTOCOL, 0, 1]);
        let attrs = nlas(&buf[12..]);
        // RTA_DST 1 absent for default; RTA_GATEWAY 5, RTA_OIF 4, RTA_PRIORITY 6.
        assert!(attrs.iter().all(|(k, _)| *k != 1));
        assert_eq!(attr(&attrs, 5), [10, 0, 1, 1]);
        assert_eq!(u32_of(&attr(&attrs, 4)), 7);
        assert_eq!(u32_of(&attr(&attrs, 6)), 50);
    }

    #[test]
    fn an_ipv6_route_is_af_inet6_with_scope_universe() {
        let op = Op::AddRoute {
            route: DesiredRoute {
                destination: "fd00:50::/48".parse().unwrap(),
                gateway: Some("fd00:1::fe".parse().unwrap()),
                link: "bond0".into(),
                metric: None,
            },
        };
        let (buf, flags) = body(&build_one(&op)[0][0]);
        assert_eq!(flags, NLM_F_CREATE | NLM_F_EXCL);
        // AF_INET6 10, /48, main table, ours, universe, unicast.
        assert_eq!(buf[..8], [10, 48, 0, 0, 254, OWNER_PROTOCOL, 0, 1]);
        let attrs = nlas(&buf[12..]);
        let fd00 = |s: &str| s.parse::<Ipv6Addr>().unwrap().octets().to_vec();
        assert_eq!(attr(&attrs, 1), fd00("fd00:50::"));
        assert_eq!(attr(&attrs, 5), fd00("fd00:1::fe"));
        // No metric written: the kernel's own (1024), not 0.
        assert!(attrs.iter().all(|(k, _)| *k != 6));
    }

    #[test]
    fn deleting_a_route_matches_any_protocol_and_scope() {
        let op = Op::DeleteRoute {
            route: RouteKey {
                destination: "10.50.0.0/16".parse().unwrap(),
                gateway: None,
                link: "eth1".into(),
                metric: None,
            },
        };
        let (buf, flags) = body(&build_one(&op)[0][0]);
        assert_eq!(flags, 0);
        assert_eq!(buf[..8], [2, 16, 0, 0, 254, 0, 255, 1]);
        assert_eq!(attr(&nlas(&buf[12..]), 1), [10, 50, 0, 0]);
    }

    #[test]
    fn disabling_ipv6_autoconf_drops_only_that_links_link_local() {
        let stages = build_one(&Op::DisableIpv6Auto {
            name: "eth2".into(),
        });
        assert_eq!(stages.len(), 2);
        assert!(matches!(
            &stages[0][0],
            Action::Netlink {
                done_on: Some(Errno::EAFNOSUPPORT),
                ..
            }
        ));
        assert_eq!(
            stages[1][0],
            Action::Sysctl {
                path: "/proc/sys/net/ipv6/conf/eth2/accept_ra".into(),
                value: "0"
            }
        );
        assert_eq!(stages[1].len(), 2, "one link-local of eth2 to delete");
        let (buf, _) = body(&stages[1][1]);
        assert_eq!(buf[..4], [10, 64, 0, 253], "AF_INET6 /64 scope link");
        assert_eq!(u32_of(&buf[4..8]), 3);
    }

    #[test]
    fn enabling_ipv6_autoconf_on_a_down_link_goes_through_netlink() {
        let stages = build_one(&Op::EnableIpv6Auto {
            name: "eth1".into(),
            regenerate: false,
        });
        assert_eq!(stages.len(), 1);
        assert!(matches!(&stages[0][0], Action::Netlink { .. }));
        assert!(matches!(&stages[0][1], Action::Sysctl { value: "1", .. }));
    }

    #[test]
    fn enabling_ipv6_autoconf_on_an_up_link_goes_through_sysctl() {
        let stages = build_one(&Op::EnableIpv6Auto {
            name: "eth1".into(),
            regenerate: true,
        });
        let paths: Vec<_> = stages[0]
            .iter()
            .map(|a| match a {
                Action::Sysctl { path, value } => format!("{}={value}", path.display()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            paths,
            [
                "/proc/sys/net/ipv6/conf/eth1/accept_ra=1",
                "/proc/sys/net/ipv6/conf/eth1/addr_gen_mode=0"
            ]
        );
    }
}
