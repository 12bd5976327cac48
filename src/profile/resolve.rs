//! Profile + node → [`DesiredNetwork`], checking everything that can only be
//! judged once one node's settings are merged (per-node overrides, bond
//! defaults, VLAN parents, shims). Problems name the field path they come
//! from: the node's override when it set the value, the profile-wide field
//! otherwise.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use super::diag::{join, Diagnostic, Diags};
use super::model::{BondConfig, Interfaces, MultusKind, NodeOverride, Profile, RouteSpec};
use crate::desired::{
    BondOptions, DesiredAddress, DesiredLink, DesiredNetwork, DesiredRoute, LinkKind,
};
use crate::kinds::{
    AdSelect, BondMode, IpvlanMode, KernelEnum, LacpRate, MacvlanMode, Mode, Network,
    PrimaryReselect, XmitHashPolicy,
};

/// The kernel's limit on interface names (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

/// Resolves one node; every problem found is returned at once.
pub fn resolve(profile: &Profile, node: &str) -> Result<DesiredNetwork, Vec<Diagnostic>> {
    let mut d = Diags::default();
    match resolve_node(profile, node, &mut d) {
        Some(n) if d.is_empty() => Ok(n),
        _ => Err(d.into_vec()),
    }
}

/// Why an interface name is not one the kernel accepts, if it is not.
pub fn ifname_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("a non-empty interface name")
    } else if name.len() > IFNAME_MAX {
        Some("an interface name of at most 15 bytes")
    } else if name == "." || name == ".." {
        Some("an interface name other than . and ..")
    } else if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        Some("an interface name without '/', ':' or whitespace")
    } else {
        None
    }
}

/// One node's settings, the profile's merged with `nodes.<node>`, with the
/// path each came from.
struct Merged<'p> {
    over: Option<&'p NodeOverride>,
    node: &'p str,
    interfaces: Interfaces,
    vlan_ids: BTreeMap<Network, u16>,
    bond: Option<BondConfig>,
    gateway: Option<Ipv4Addr>,
    mtu: BTreeMap<String, u32>,
    routes: Vec<(String, &'p RouteSpec)>,
}

impl<'p> Merged<'p> {
    fn new(p: &'p Profile, node: &'p str) -> Self {
        let over = p.nodes.get(node);
        let interfaces = match over.and_then(|o| o.interfaces.as_ref()) {
            Some(i) => p.interfaces.merged(i),
            None => p.interfaces.clone(),
        };
        let mut vlan_ids = p.vlan_ids.clone();
        let mut mtu = p.mtu.clone();
        let mut routes: Vec<(String, &RouteSpec)> = p
            .routes
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("routes[{i}]"), r))
            .collect();
        let mut bond = p.bond_config.clone();
        if let Some(o) = over {
            vlan_ids.extend(o.vlan_ids.iter().map(|(k, v)| (*k, *v)));
            mtu.extend(o.mtu.iter().map(|(k, v)| (k.clone(), *v)));
            routes.extend(o.routes.iter().enumerate().map(|(i, r)| {
                (
                    format!("{}[{i}]", join(&Self::node_path(node), "routes")),
                    r,
                )
            }));
            if let Some(b) = &o.bond_config {
                bond = Some(bond.unwrap_or_default().merged(b));
            }
        }
        Merged {
            over,
            node,
            interfaces,
            vlan_ids,
            bond,
            gateway: over.and_then(|o| o.gateway).or(p.gateway),
            mtu,
            routes,
        }
    }

    fn node_path(node: &str) -> String {
        join("nodes", node)
    }

    /// Where `field` (a path below the profile root) was set for this node.
    fn path(&self, field: &str, overridden: impl Fn(&NodeOverride) -> bool) -> String {
        match self.over {
            Some(o) if overridden(o) => format!("{}.{field}", Self::node_path(self.node)),
            _ => field.to_string(),
        }
    }

    fn iface_path(&self, which: &str) -> String {
        self.path(&format!("interfaces.{which}"), |o| {
            o.interfaces.as_ref().is_some_and(|i| match which {
                "cluster" => i.cluster.is_some(),
                "storage" => i.storage.is_some(),
                "trunk" => i.trunk.is_some(),
                _ => i.bond_members.is_some(),
            })
        })
    }

    fn vlan_path(&self, net: Network) -> String {
        self.path(&format!("vlanIds.{net}"), |o| o.vlan_ids.contains_key(&net))
    }

    fn bond_path(&self, field: &str, set: impl Fn(&BondConfig) -> bool) -> String {
        self.path(&format!("bondConfig.{field}"), |o| {
            o.bond_config.as_ref().is_some_and(&set)
        })
    }

    fn mtu_path(&self, link: &str) -> String {
        let base = self.path("mtu", |o| o.mtu.contains_key(link));
        join(&base, link)
    }
}

/// Builder of one node's links, keeping names unique.
#[derive(Default)]
struct Links {
    list: Vec<DesiredLink>,
}

impl Links {
    fn get_mut(&mut self, name: &str) -> Option<&mut DesiredLink> {
        self.list.iter_mut().find(|l| l.name == name)
    }

    fn has(&self, name: &str) -> bool {
        self.list.iter().any(|l| l.name == name)
    }

    fn add(&mut self, link: DesiredLink) {
        self.list.push(link);
    }
}

fn link(name: &str, kind: LinkKind) -> DesiredLink {
    DesiredLink {
        name: name.to_string(),
        kind,
        mtu: None,
        master: None,
        dhcp: false,
        network: None,
        multus: None,
    }
}

fn check_name(d: &mut Diags, path: &str, name: &str) -> bool {
    match ifname_problem(name) {
        Some(expected) => {
            d.push(path, Some(format!("{name:?}")), expected);
            false
        }
        None => true,
    }
}

/// The parent a VLAN named `<parent>.<vid>` implies.
fn dotted_parent(name: &str) -> Option<(&str, Option<u16>)> {
    let (parent, vid) = name.rsplit_once('.')?;
    Some((parent, vid.parse().ok()))
}

/// Host bits must not be all zeros or all ones (for prefixes up to /30).
fn host_problem(a: Ipv4Net) -> Option<&'static str> {
    let ip = a.addr();
    if ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() || ip.is_broadcast() {
        return Some("a unicast host address");
    }
    if a.prefix_len() <= 30 && (ip == a.network() || ip == a.broadcast()) {
        return Some("a host address, not the subnet's network or broadcast address");
    }
    None
}

/// Resolves one node into `d` (which knows source positions when validating
/// a file); `None` when a problem was found.
pub fn resolve_node(p: &Profile, node: &str, d: &mut Diags) -> Option<DesiredNetwork> {
    let m = Merged::new(p, node);
    let mut links = Links::default();
    let mut addresses: Vec<(String, DesiredAddress)> = Vec::new();
    let mut ok = true;

    // Bond: declared by bondConfig or interfaces.bondMembers.
    let bond_name = if m.bond.is_some() || m.interfaces.bond_members.is_some() {
        let name = match (&m.interfaces.trunk, &m.interfaces.cluster) {
            (Some(t), _) => t.clone(),
            (None, Some(c)) if !m.vlan_ids.contains_key(&Network::Cluster) => c.clone(),
            (None, Some(c)) => dotted_parent(c).map_or("bond0".into(), |(p, _)| p.to_string()),
            (None, None) => "bond0".into(),
        };
        ok &= check_name(d, &m.iface_path("trunk"), &name);
        ok &= resolve_bond(&m, &name, &mut links, d);
        Some(name)
    } else {
        None
    };
    let bond_members: BTreeSet<String> = links
        .list
        .iter()
        .filter(|l| l.master.is_some())
        .map(|l| l.name.clone())
        .collect();

    // Networks: each on a VLAN, the bond, or a NIC.
    let mut net_links: BTreeMap<Network, String> = BTreeMap::new();
    for net in Network::ALL {
        let ipath = m.iface_path(net.as_str());
        let Some(name) = m.interfaces.network(net).map(str::to_string) else {
            if net == Network::Cluster {
                d.push(&ipath, None, "missing: expected the cluster interface name");
                ok = false;
            } else if m.vlan_ids.contains_key(&net) {
                d.push(
                    &ipath,
                    None,
                    format!(
                        "missing: expected the {net} interface, since {} is set",
                        m.vlan_path(net)
                    ),
                );
                ok = false;
            }
            continue;
        };
        if !check_name(d, &ipath, &name) {
            ok = false;
            continue;
        }
        if bond_members.contains(&name) {
            d.push(
                &ipath,
                Some(format!("{name:?}")),
                "an interface that is not a bond member",
            );
            ok = false;
            continue;
        }
        match m.vlan_ids.get(&net) {
            Some(&vid) => {
                ok &= resolve_vlan(
                    &m,
                    net,
                    &name,
                    vid,
                    bond_name.as_deref(),
                    &bond_members,
                    &mut links,
                    d,
                )
            }
            None => {
                if let Some((parent, Some(_))) = dotted_parent(&name) {
                    if bond_name.as_deref() != Some(&name) {
                        d.push(
                            &m.vlan_path(net),
                            None,
                            format!("missing: {name:?} is named like a VLAN on {parent}, so the VLAN id is needed"),
                        );
                        ok = false;
                        continue;
                    }
                }
                if !links.has(&name) {
                    links.add(link(&name, LinkKind::Ethernet));
                }
            }
        }
        if let Some(l) = links.get_mut(&name) {
            if l.network.is_none() {
                l.network = Some(net);
            }
        }
        net_links.insert(net, name);
    }

    // The trunk of a flat NIC trunk (VLANs on eth1) is a managed NIC.
    if let Some(trunk) = &m.interfaces.trunk {
        if bond_name.is_none() && !links.has(trunk) && check_name(d, &m.iface_path("trunk"), trunk)
        {
            links.add(link(trunk, LinkKind::Ethernet));
        }
    }

    // Addresses.
    let node_path = join("ipAddresses", node);
    let written = p.ip_addresses.get(node);
    let reserved = p.reservations.get(node).map(|r| r.ip);
    let mut cluster_ip = None;
    for net in Network::ALL {
        let apath = join(&node_path, net.as_str());
        let addr = written.and_then(|w| w.get(&net)).copied();
        let Some(iface) = net_links.get(&net) else {
            if addr.is_some() {
                d.push(
                    &apath,
                    addr.map(|a| a.to_string()),
                    format!("no {net} address, since interfaces.{net} is not set"),
                );
                ok = false;
            }
            continue;
        };
        let dhcp = p.mode == Mode::Dhcp && net == Network::Cluster;
        if dhcp {
            let ip = reserved.or(addr.map(|a| a.addr()));
            match ip {
                Some(ip) => cluster_ip = Some(ip),
                None => {
                    d.push(&apath, None, format!("missing: expected {node}'s reserved cluster IP (ipAddresses.{node}.cluster or reservations.{node}.ip)"));
                    ok = false;
                }
            }
            if let Some(l) = links.get_mut(iface) {
                l.dhcp = true;
            }
            continue;
        }
        match addr {
            Some(a) => {
                if let Some(expected) = host_problem(a) {
                    d.push(&apath, Some(a.to_string()), expected);
                    ok = false;
                }
                if net == Network::Cluster {
                    cluster_ip = Some(a.addr());
                }
                addresses.push((
                    apath,
                    DesiredAddress {
                        link: iface.clone(),
                        address: a,
                    },
                ));
            }
            None if net == Network::Cluster => {
                d.push(
                    &apath,
                    None,
                    format!("missing: expected {node}'s cluster address"),
                );
                ok = false;
            }
            None => {}
        }
    }
    if p.mode == Mode::Dhcp && !m.vlan_ids.is_empty() {
        d.push(
            "mode",
            Some("\"dhcp\"".into()),
            "\"static\" when VLANs are used (DHCP on VLAN interfaces is not supported yet)",
        );
        ok = false;
    }

    ok &= resolve_multus(p, node, &mut links, &mut addresses, d);
    ok &= check_overlaps(&addresses, d);

    // MTU.
    for (name, &mtu) in &m.mtu {
        let path = m.mtu_path(name);
        if !(68..=65535).contains(&mtu) {
            d.push(&path, Some(mtu.to_string()), "an MTU from 68 to 65535");
            ok = false;
        }
        match links.get_mut(name) {
            Some(l) => l.mtu = Some(mtu),
            None => {
                d.push(
                    &path,
                    Some(format!("key {name:?}")),
                    "the name of one of this node's managed interfaces",
                );
                ok = false;
            }
        }
    }
    for l in &links.list {
        if let (Some(parent), Some(mtu)) = (l.parent(), l.mtu) {
            let pm = links
                .list
                .iter()
                .find(|x| x.name == parent)
                .and_then(|x| x.mtu);
            if let Some(pm) = pm.filter(|&pm| pm < mtu) {
                d.push(
                    &m.mtu_path(&l.name),
                    Some(mtu.to_string()),
                    format!("at most the MTU of its parent {parent} ({pm})"),
                );
                ok = false;
            }
        }
    }

    // Routes: the gateway, then extra routes; the link is the one whose subnet holds the next hop.
    let on_link = |via: Ipv4Addr| -> Option<String> {
        addresses
            .iter()
            .find(|(_, a)| a.address.trunc().contains(&via))
            .map(|(_, a)| a.link.clone())
            .or_else(|| {
                // A DHCP link's subnet is that of the reserved address (/24 unless written).
                let net = written.and_then(|w| w.get(&Network::Cluster)).copied();
                let dl = links.list.iter().find(|l| l.dhcp)?;
                let sub = net.map(|n| n.trunc()).or_else(|| {
                    cluster_ip.and_then(|ip| Ipv4Net::new(ip, 24).ok().map(|n| n.trunc()))
                })?;
                sub.contains(&via).then(|| dl.name.clone())
            })
    };
    let mut routes = Vec::new();
    if let Some(gw) = m.gateway {
        let path = m.path("gateway", |o| o.gateway.is_some());
        match on_link(gw) {
            Some(l) => routes.push(DesiredRoute {
                destination: Ipv4Net::default(),
                gateway: Some(gw),
                link: l,
                metric: None,
            }),
            None => {
                d.push(
                    &path,
                    Some(gw.to_string()),
                    "a gateway inside the subnet of one of the node's addresses",
                );
                ok = false;
            }
        }
    }
    for (path, r) in &m.routes {
        if r.to.trunc() != r.to {
            d.push(
                &join(path, "to"),
                Some(r.to.to_string()),
                format!("a network prefix (host bits zero: {})", r.to.trunc()),
            );
            ok = false;
        }
        let dev = match (&r.dev, r.via) {
            (Some(dev), _) if links.has(dev) => Some(dev.clone()),
            (Some(dev), _) => {
                d.push(
                    &join(path, "dev"),
                    Some(format!("{dev:?}")),
                    "one of this node's managed interfaces",
                );
                ok = false;
                continue;
            }
            (None, Some(via)) => on_link(via),
            (None, None) => {
                d.push(path, None, "missing: expected `via` or `dev`");
                ok = false;
                continue;
            }
        };
        match (dev, r.via) {
            (Some(dev), via) => {
                if let Some(via) = via {
                    if on_link(via).as_deref() != Some(&dev) {
                        d.push(
                            &join(path, "via"),
                            Some(via.to_string()),
                            format!("a next hop inside a subnet of {dev}"),
                        );
                        ok = false;
                    }
                }
                routes.push(DesiredRoute {
                    destination: r.to,
                    gateway: via,
                    link: dev,
                    metric: r.metric,
                });
            }
            (None, via) => {
                d.push(
                    &join(path, "via"),
                    via.map(|v| v.to_string()),
                    "a next hop inside the subnet of one of the node's addresses",
                );
                ok = false;
            }
        }
    }

    let links = order_links(links.list);
    let cluster_interface = net_links.get(&Network::Cluster).cloned();
    if !ok {
        return None;
    }
    Some(DesiredNetwork {
        node: node.to_string(),
        role: m.over.and_then(|o| o.role),
        mode: p.mode,
        cluster_interface: cluster_interface?,
        cluster_ip: cluster_ip?,
        links,
        addresses: addresses.into_iter().map(|(_, a)| a).collect(),
        routes,
    })
}

#[allow(clippy::too_many_arguments)]
fn resolve_vlan(
    m: &Merged<'_>,
    net: Network,
    name: &str,
    vid: u16,
    bond: Option<&str>,
    bond_members: &BTreeSet<String>,
    links: &mut Links,
    d: &mut Diags,
) -> bool {
    let vpath = m.vlan_path(net);
    let ipath = m.iface_path(net.as_str());
    let mut ok = true;
    if !(1..=4094).contains(&vid) {
        d.push(&vpath, Some(vid.to_string()), "a VLAN id from 1 to 4094");
        ok = false;
    }
    let dotted = dotted_parent(name);
    let parent = match (&m.interfaces.trunk, dotted) {
        (Some(t), _) => t.clone(),
        (None, Some((p, _))) => p.to_string(),
        (None, None) => {
            d.push(
                &m.iface_path("trunk"),
                None,
                format!("missing: expected the parent of VLAN {name} (or name it <parent>.{vid})"),
            );
            return false;
        }
    };
    if let Some((_, Some(suffix))) = dotted {
        if suffix != vid {
            d.push(&ipath, Some(format!("{name:?}")), format!("a VLAN interface named after its id {vid} (<parent>.{vid}), or {vpath} = {suffix}"));
            ok = false;
        }
    }
    if bond_members.contains(&parent) {
        d.push(
            &m.iface_path("trunk"),
            Some(format!("{parent:?}")),
            format!(
                "a VLAN parent that is not a bond member (VLAN {name} would sit on a port of {})",
                bond.unwrap_or("the bond")
            ),
        );
        return false;
    }
    if bond != Some(parent.as_str()) && dotted_parent(&parent).is_some_and(|(_, v)| v.is_some()) {
        d.push(
            &m.iface_path("trunk"),
            Some(format!("{parent:?}")),
            "a VLAN parent that is a NIC or a declared link (the bond)",
        );
        return false;
    }
    if let Some(existing) = links.list.iter().find(|l| l.name == name) {
        if existing.kind
            != (LinkKind::Vlan {
                parent: parent.clone(),
                id: vid,
            })
        {
            d.push(
                &ipath,
                Some(format!("{name:?}")),
                "a name not already used by another link of this node",
            );
            return false;
        }
        return ok;
    }
    if !links.has(&parent) {
        links.add(link(&parent, LinkKind::Ethernet));
    }
    links.add(link(name, LinkKind::Vlan { parent, id: vid }));
    ok
}

fn resolve_bond(m: &Merged<'_>, name: &str, links: &mut Links, d: &mut Diags) -> bool {
    let cfg = m.bond.clone().unwrap_or_default();
    let mut ok = true;
    let (members, mpath) = match (&cfg.members, &m.interfaces.bond_members) {
        (Some(ms), _) => (ms.clone(), m.bond_path("members", |b| b.members.is_some())),
        (None, Some(ms)) => (ms.clone(), m.iface_path("bondMembers")),
        (None, None) => (
            vec!["eth1".into(), "eth2".into()],
            "bondConfig.members".into(),
        ),
    };
    if members.is_empty() {
        d.push(&mpath, Some("[]".into()), "at least one bond member");
        ok = false;
    }
    let mut seen = BTreeSet::new();
    for (i, mbr) in members.iter().enumerate() {
        let p = format!("{mpath}[{i}]");
        ok &= check_name(d, &p, mbr);
        if !seen.insert(mbr.as_str()) {
            d.push(&p, Some(format!("{mbr:?}")), "each member listed once");
            ok = false;
        } else if mbr == name {
            d.push(&p, Some(format!("{mbr:?}")), "a NIC, not the bond itself");
            ok = false;
        } else if dotted_parent(mbr).is_some_and(|(_, v)| v.is_some()) {
            d.push(
                &p,
                Some(format!("{mbr:?}")),
                "a NIC (a VLAN cannot be a bond port)",
            );
            ok = false;
        }
    }
    let mode = cfg.mode.unwrap_or(BondMode::ActiveBackup);
    let mode_path = m.bond_path("mode", |b| b.mode.is_some());
    let mut only = |set: bool, field: &str, f: fn(&BondConfig) -> bool, what: &str| {
        if set {
            d.push(
                &m.bond_path(field, f),
                None,
                format!(
                    "not set: {field} is only used with mode {what} (mode is {mode}, {mode_path})"
                ),
            );
            ok = false;
        }
    };
    only(
        cfg.primary.is_some() && !mode.uses_primary(),
        "primary",
        |b| b.primary.is_some(),
        "active-backup, balance-tlb or balance-alb",
    );
    only(
        cfg.primary_reselect.is_some() && !mode.uses_primary(),
        "primaryReselect",
        |b| b.primary_reselect.is_some(),
        "active-backup, balance-tlb or balance-alb",
    );
    only(
        cfg.lacp_rate.is_some() && mode != BondMode::Lacp,
        "lacpRate",
        |b| b.lacp_rate.is_some(),
        "802.3ad",
    );
    only(
        cfg.ad_select.is_some() && mode != BondMode::Lacp,
        "adSelect",
        |b| b.ad_select.is_some(),
        "802.3ad",
    );
    only(
        cfg.xmit_hash_policy.is_some() && !mode.uses_xmit_hash(),
        "xmitHashPolicy",
        |b| b.xmit_hash_policy.is_some(),
        "balance-xor, 802.3ad or balance-tlb",
    );

    let primary = if mode.uses_primary() {
        match &cfg.primary {
            Some(p) if !members.contains(p) => {
                d.push(
                    &m.bond_path("primary", |b| b.primary.is_some()),
                    Some(format!("{p:?}")),
                    format!("one of the bond members ({})", members.join(", ")),
                );
                ok = false;
                None
            }
            Some(p) => Some(p.clone()),
            None => members.first().cloned(),
        }
    } else {
        None
    };
    let miimon = cfg.miimon.unwrap_or(100);
    // NixOS's 200 ms, as the kernel would round it for this miimon.
    let default_delay = 200u32.checked_div(miimon).map_or(0, |n| n * miimon);
    let mut delay = |v: Option<u32>, field: &str, f: fn(&BondConfig) -> bool| -> u32 {
        let Some(v) = v else { return default_delay };
        let path = m.bond_path(field, f);
        if miimon == 0 && v > 0 {
            d.push(
                &path,
                Some(v.to_string()),
                "0 when miimon is 0 (link monitoring off)",
            );
            ok = false;
        } else if miimon > 0 && v % miimon != 0 {
            d.push(
                &path,
                Some(v.to_string()),
                format!(
                    "a multiple of miimon {miimon} (the kernel would round it down to {})",
                    v / miimon * miimon
                ),
            );
            ok = false;
        }
        v
    };
    let updelay = delay(cfg.updelay, "updelay", |b| b.updelay.is_some());
    let downdelay = delay(cfg.downdelay, "downdelay", |b| b.downdelay.is_some());
    let lacp = mode == BondMode::Lacp;
    let opts = BondOptions {
        mode,
        members: members.clone(),
        primary,
        miimon,
        updelay,
        downdelay,
        primary_reselect: mode
            .uses_primary()
            .then(|| cfg.primary_reselect.unwrap_or(PrimaryReselect::Always)),
        lacp_rate: lacp.then(|| cfg.lacp_rate.unwrap_or(LacpRate::Slow)),
        xmit_hash_policy: mode
            .uses_xmit_hash()
            .then(|| cfg.xmit_hash_policy.unwrap_or(XmitHashPolicy::Layer2)),
        min_links: cfg.min_links.unwrap_or(0),
        ad_select: lacp.then(|| cfg.ad_select.unwrap_or(AdSelect::Stable)),
    };
    if opts.min_links as usize > members.len() {
        d.push(
            &m.bond_path("minLinks", |b| b.min_links.is_some()),
            Some(opts.min_links.to_string()),
            format!("at most the number of members ({})", members.len()),
        );
        ok = false;
    }
    for mbr in &members {
        if !links.has(mbr) {
            let mut l = link(mbr, LinkKind::Ethernet);
            l.master = Some(name.to_string());
            links.add(l);
        }
    }
    links.add(link(name, LinkKind::Bond(opts)));
    ok
}

/// A NAD's macvlan/ipvlan mode, `default` when not written.
fn shim_mode<T: KernelEnum>(
    written: Option<&str>,
    default: T,
    path: &str,
    d: &mut Diags,
) -> Option<T> {
    let Some(m) = written else {
        return Some(default);
    };
    let v = m.parse().ok();
    if v.is_none() {
        d.push(
            path,
            Some(format!("{m:?}")),
            format!("a {}: one of {}", T::WHAT, T::names()),
        );
    }
    v
}

/// Default shim name: `mv-<nad>` / `iv-<nad>`, cut to the kernel's limit.
pub fn default_shim_name(kind: MultusKind, nad: &str) -> String {
    let prefix = match kind {
        MultusKind::Ipvlan => "iv-",
        _ => "mv-",
    };
    let mut s = format!("{prefix}{nad}");
    while s.len() > IFNAME_MAX {
        s.pop();
    }
    s
}

fn resolve_multus(
    p: &Profile,
    node: &str,
    links: &mut Links,
    addresses: &mut Vec<(String, DesiredAddress)>,
    d: &mut Diags,
) -> bool {
    let mut ok = true;
    let mut master_kinds: BTreeMap<&str, (MultusKind, String)> = BTreeMap::new();
    for (name, nad) in &p.multus {
        let base = join("multus", name);
        let mpath = join(&base, "master");
        let managed = links.has(&nad.master);
        if !managed
            && (ifname_problem(&nad.master).is_some()
                || dotted_parent(&nad.master).is_some_and(|(_, v)| v.is_some()))
        {
            d.push(
                &mpath,
                Some(format!("{:?}", nad.master)),
                format!("one of {node}'s interfaces or a NIC"),
            );
            ok = false;
            continue;
        }
        let mode_path = join(&base, "mode");
        match nad.kind {
            MultusKind::Macvlan | MultusKind::Ipvlan => {
                if let Some((other_kind, other)) = master_kinds.get(nad.master.as_str()) {
                    if *other_kind != nad.kind {
                        d.push(
                            &join(&base, "type"),
                            Some(format!("{:?}", nad.kind.as_str())),
                            format!("{} like {other} on master {} (the kernel refuses macvlan and ipvlan on one master)", other_kind.as_str(), nad.master),
                        );
                        ok = false;
                    }
                } else {
                    master_kinds.insert(&nad.master, (nad.kind, base.clone()));
                }
                if nad.vlan_id.is_some() {
                    d.push(
                        &join(&base, "vlanId"),
                        None,
                        "not set: vlanId is only for type \"vlan\"",
                    );
                    ok = false;
                }
            }
            MultusKind::Vlan => {
                match nad.vlan_id {
                    None => {
                        d.push(
                            &join(&base, "vlanId"),
                            None,
                            "missing: expected the VLAN id of this vlan NAD",
                        );
                        ok = false;
                    }
                    Some(v) if !(1..=4094).contains(&v) => {
                        d.push(
                            &join(&base, "vlanId"),
                            Some(v.to_string()),
                            "a VLAN id from 1 to 4094",
                        );
                        ok = false;
                    }
                    Some(v) => {
                        if let Some(host) = links.list.iter().find(|l| {
                            l.kind
                                == (LinkKind::Vlan {
                                    parent: nad.master.clone(),
                                    id: v,
                                })
                        }) {
                            d.push(
                                &join(&base, "vlanId"),
                                Some(v.to_string()),
                                format!("a VID other than that of host VLAN {} on {} (both would claim the same tag)", host.name, nad.master),
                            );
                            ok = false;
                        }
                    }
                }
                if nad.mode.is_some() {
                    d.push(&mode_path, None, "not set: mode is for macvlan and ipvlan");
                    ok = false;
                }
                if !nad.host_addresses.is_empty() {
                    d.push(
                        &join(&base, "hostAddresses"),
                        None,
                        "not set: a vlan NAD has no host shim",
                    );
                    ok = false;
                }
            }
        }
        let parent = nad.master.clone();
        let kind = match nad.kind {
            MultusKind::Macvlan => {
                shim_mode(nad.mode.as_deref(), MacvlanMode::Bridge, &mode_path, d)
                    .map(|mode| LinkKind::Macvlan { parent, mode })
            }
            MultusKind::Ipvlan => shim_mode(nad.mode.as_deref(), IpvlanMode::L2, &mode_path, d)
                .map(|mode| LinkKind::Ipvlan { parent, mode }),
            MultusKind::Vlan => None,
        };
        ok &= nad.kind == MultusKind::Vlan || kind.is_some();
        // IPAM range sanity.
        for (field, a) in [
            ("rangeStart", nad.range_start),
            ("rangeEnd", nad.range_end),
            ("gateway", nad.gateway),
        ] {
            if let Some(a) = a.filter(|a| !nad.subnet.contains(a)) {
                d.push(
                    &join(&base, field),
                    Some(a.to_string()),
                    format!("an address inside subnet {}", nad.subnet),
                );
                ok = false;
            }
        }
        if let (Some(s), Some(e)) = (nad.range_start, nad.range_end) {
            if s > e {
                d.push(
                    &join(&base, "rangeEnd"),
                    Some(e.to_string()),
                    format!("an address not below rangeStart {s}"),
                );
                ok = false;
            }
        }
        let Some(kind) = kind else { continue };
        let Some(&host) = nad.host_addresses.get(node) else {
            continue;
        };
        let hpath = join(&join(&base, "hostAddresses"), node);
        let shim = nad
            .host_interface
            .clone()
            .unwrap_or_else(|| default_shim_name(nad.kind, name));
        if !check_name(d, &join(&base, "hostInterface"), &shim) {
            ok = false;
            continue;
        }
        if links.has(&shim) {
            d.push(
                &join(&base, "hostInterface"),
                Some(format!("{shim:?}")),
                "a name not already used by another link of this node",
            );
            ok = false;
            continue;
        }
        let addr = Ipv4Net::new(host, nad.subnet.prefix_len()).unwrap_or_default();
        if !nad.subnet.contains(&host) {
            d.push(
                &hpath,
                Some(host.to_string()),
                format!("an address inside subnet {}", nad.subnet),
            );
            ok = false;
        } else if let Some(expected) = host_problem(addr) {
            d.push(&hpath, Some(host.to_string()), expected);
            ok = false;
        } else if let (Some(s), Some(e)) = (nad.range_start, nad.range_end) {
            if (s..=e).contains(&host) {
                d.push(
                    &hpath,
                    Some(host.to_string()),
                    format!(
                        "an address outside the IPAM range {s}-{e} (IPAM could hand it to a pod)"
                    ),
                );
                ok = false;
            }
        }
        if nad.gateway == Some(host) {
            d.push(
                &hpath,
                Some(host.to_string()),
                "an address other than the NAD's gateway",
            );
            ok = false;
        }
        if !managed && !links.has(&nad.master) {
            links.add(link(&nad.master, LinkKind::Ethernet));
        }
        let mut l = link(&shim, kind);
        l.multus = Some(name.clone());
        links.add(l);
        addresses.push((
            hpath,
            DesiredAddress {
                link: shim,
                address: addr,
            },
        ));
    }
    ok
}

/// Two links of one node may not carry overlapping subnets (the kernel would
/// pick one route for both); the same address twice is a copy-paste error.
fn check_overlaps(addresses: &[(String, DesiredAddress)], d: &mut Diags) -> bool {
    let mut ok = true;
    for (i, (pa, a)) in addresses.iter().enumerate() {
        for (pb, b) in &addresses[..i] {
            if a.link == b.link && a.address != b.address {
                continue;
            }
            let (na, nb) = (a.address.trunc(), b.address.trunc());
            if na.contains(&nb.network()) || nb.contains(&na.network()) {
                d.push(
                    pa,
                    Some(a.address.to_string()),
                    format!(
                        "a subnet not overlapping {} on {} ({pb})",
                        b.address, b.link
                    ),
                );
                ok = false;
            }
        }
    }
    ok
}

/// Orders links so every parent (and bond) precedes its children and ports
/// follow... before their bond: NICs, bonds, VLANs, shims, each by name.
fn order_links(mut links: Vec<DesiredLink>) -> Vec<DesiredLink> {
    let rank = |l: &DesiredLink| match &l.kind {
        LinkKind::Ethernet => 0,
        LinkKind::Bond(_) => 1,
        LinkKind::Vlan { .. } => 2,
        LinkKind::Macvlan { .. } | LinkKind::Ipvlan { .. } => 3,
    };
    links.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.name.cmp(&b.name)));
    links
}
