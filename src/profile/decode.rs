//! Source tree → typed [`Profile`], reporting every wrong type, bad value,
//! missing field and unknown key with its path instead of stopping at the
//! first one.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::diag::{index, join, Diags};
use super::model::{
    AddrRange, BondConfig, Cidrs, DhcpServer, Gateways, Interfaces, MultusIpam, MultusKind,
    MultusNet, NetAddrs, NodeOverride, PerFamily, Profile, Reservation, RouteSpec,
};
use super::source::{Entry, Node, Value};
use crate::kinds::{
    AdSelect, BondMode, LacpRate, Mode, Network, PrimaryReselect, Role, XmitHashPolicy,
};
use crate::mac::MacAddr;

/// Keys of older n3x profiles that carry nothing the newer keys do not.
pub const LEGACY_KEYS: &[&str] = &[
    "nodeIPs",
    "clusterIPs",
    "storageIPs",
    "clusterVlanId",
    "storageVlanId",
];

/// A value that can be read from one node of the tree.
trait Decode: Sized {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self>;
}

fn found(node: &Node) -> Option<String> {
    Some(node.value.brief())
}

fn string<'n>(node: &'n Node, path: &str, d: &mut Diags, expected: &str) -> Option<&'n str> {
    match &node.value {
        Value::Str(s) => Some(s),
        _ => {
            d.push(path, found(node), expected);
            None
        }
    }
}

/// Decodes a string through `FromStr`, reporting `expected` on failure.
fn parsed<T: FromStr>(node: &Node, path: &str, d: &mut Diags, expected: &str) -> Option<T> {
    let s = string(node, path, d, expected)?;
    match s.parse() {
        Ok(v) => Some(v),
        Err(_) => {
            d.push(path, found(node), expected);
            None
        }
    }
}

impl Decode for String {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        string(node, path, d, "a string").map(str::to_string)
    }
}

fn integer<T: TryFrom<i64>>(node: &Node, path: &str, d: &mut Diags, expected: &str) -> Option<T> {
    match &node.value {
        Value::Int(i) => match T::try_from(*i) {
            Ok(v) => Some(v),
            Err(_) => {
                d.push(path, found(node), expected);
                None
            }
        },
        _ => {
            d.push(path, found(node), expected);
            None
        }
    }
}

impl Decode for u16 {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        integer(node, path, d, "an integer from 0 to 65535")
    }
}

impl Decode for u32 {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        integer(node, path, d, "a non-negative integer")
    }
}

/// Every field but `ipAddresses`, `clusterCidr`, `serviceCidr`, `gateway`,
/// `routes` and a Multus `subnet` is IPv4 only for now: an IPv6 value there
/// is refused as not supported yet, never accepted and left unapplied.
const NO_IPV6_YET: &str =
    "IPv6 is not supported here yet (only in ipAddresses, clusterCidr, serviceCidr, gateway, routes and a Multus subnet, whose other addresses get IPv6 twins)";

/// [`parsed`] for an IPv4-only field: an IPv6 value gets its own message.
fn ipv4<T: FromStr, V6: FromStr>(
    node: &Node,
    path: &str,
    d: &mut Diags,
    expected: &str,
) -> Option<T> {
    let s = string(node, path, d, expected)?;
    if let Ok(v) = s.parse() {
        return Some(v);
    }
    if s.parse::<V6>().is_ok() {
        d.push(path, found(node), format!("{expected}; {NO_IPV6_YET}"));
    } else {
        d.push(path, found(node), expected);
    }
    None
}

impl Decode for Ipv4Addr {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        ipv4::<_, Ipv6Addr>(node, path, d, "an IPv4 address like 192.168.1.1")
    }
}

impl Decode for Ipv4Net {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        ipv4::<_, Ipv6Net>(node, path, d, "an IPv4 prefix like 10.42.0.0/16")
    }
}

impl Decode for MacAddr {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        parsed(node, path, d, "a MAC address like 52:54:00:01:01:01")
    }
}

/// One address of `ipAddresses`: IPv4 bare (/24 implied, as n3x implies)
/// or with a prefix; IPv6 always with its prefix (no length is implied:
/// /64 is common but not universal, and a wrong one would mis-route).
fn host_addr(node: &Node, path: &str, d: &mut Diags) -> Option<IpNet> {
    const EXPECTED: &str = "an IPv4 address, bare (/24 implied) or with a prefix like 192.168.1.1/24, or an IPv6 address with its prefix like fd00:200::1/64";
    let s = string(node, path, d, EXPECTED)?;
    let net = match (s.contains(':'), s.contains('/')) {
        (true, true) => s.parse::<Ipv6Net>().ok().map(IpNet::V6),
        (true, false) => {
            let what = if s.parse::<Ipv6Addr>().is_ok() {
                "an IPv6 address with its prefix length like fd00:200::1/64 (none is implied for IPv6)"
            } else {
                EXPECTED
            };
            d.push(path, found(node), what);
            return None;
        }
        (false, true) => s.parse::<Ipv4Net>().ok().map(IpNet::V4),
        (false, false) => s
            .parse::<Ipv4Addr>()
            .ok()
            .and_then(|a| Ipv4Net::new(a, 24).ok())
            .map(IpNet::V4),
    };
    if net.is_none() {
        d.push(path, found(node), EXPECTED);
    }
    net
}

/// The items of a per-family value (`ipAddresses`, the CIDRs): the string
/// itself, or each of a list of one or two, with its path.
fn pair_items<'n>(
    node: &'n Node,
    path: &str,
    d: &mut Diags,
    expected: &str,
) -> Option<Vec<(String, &'n Node)>> {
    match &node.value {
        Value::Str(_) => Some(vec![(path.to_string(), node)]),
        Value::Array(items) if (1..=2).contains(&items.len()) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    let p = index(path, i);
                    d.record(&p, n.pos);
                    (p, n)
                })
                .collect(),
        ),
        _ => {
            d.push(path, found(node), expected);
            None
        }
    }
}

/// A [`PerFamily`] value: one item as a string, or a list of one item per
/// family, each read by `item` (IPv4 as `Ok`, IPv6 as `Err`). IPv6 is only
/// ever in the list (n3x's fields are IPv4 strings); `v4_example` shows the
/// list form in the message.
fn per_family<V4: std::fmt::Display, V6: std::fmt::Display>(
    node: &Node,
    path: &str,
    d: &mut Diags,
    expected: &str,
    v4_example: &str,
    item: impl Fn(&Node, &str, &mut Diags) -> Option<Result<V4, V6>>,
) -> Option<PerFamily<V4, V6>> {
    let items = pair_items(node, path, d, expected)?;
    let mut out = PerFamily::default();
    let mut ok = true;
    for (p, n) in &items {
        match item(n, p, d) {
            Some(Err(a)) if matches!(node.value, Value::Str(_)) => {
                d.push(
                    p,
                    Some(a.to_string()),
                    format!("an IPv4 address here; IPv6 is written in the list form, like [\"{a}\"] or [\"{v4_example}\", \"{a}\"]"),
                );
                ok = false;
            }
            Some(Ok(a)) if out.v4.is_none() => out.v4 = Some(a),
            Some(Err(a)) if out.v6.is_none() => out.v6 = Some(a),
            Some(a) => {
                let shown = match a {
                    Ok(a) => a.to_string(),
                    Err(a) => a.to_string(),
                };
                d.push(
                    p,
                    Some(shown),
                    "an address of the other family: a dual-stack pair is one IPv4 and one IPv6 address",
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

impl Decode for NetAddrs {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        const EXPECTED: &str =
            "one IPv4 and/or one IPv6 address: a string, or a list like [\"192.168.1.1/24\", \"fd00:1::1/64\"]";
        per_family(node, path, d, EXPECTED, "192.168.1.1/24", |n, p, d| {
            host_addr(n, p, d).map(|a| match a {
                IpNet::V4(a) => Ok(a),
                IpNet::V6(a) => Err(a),
            })
        })
    }
}

impl Decode for Gateways {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        const EXPECTED: &str = "an IPv4 gateway address like 192.168.1.254, or one per family: a list like [\"192.168.1.254\", \"fd00:1::fe\"]";
        per_family(node, path, d, EXPECTED, "192.168.1.254", |n, p, d| {
            parsed::<IpAddr>(n, p, d, EXPECTED).map(|a| match a {
                IpAddr::V4(a) => Ok(a),
                IpAddr::V6(a) => Err(a),
            })
        })
    }
}

impl Decode for IpAddr {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        parsed(
            node,
            path,
            d,
            "an IPv4 or IPv6 address like 192.168.1.1 or fd00:1::1",
        )
    }
}

impl Decode for IpNet {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        parsed(
            node,
            path,
            d,
            "an IPv4 or IPv6 prefix like 10.50.0.0/16 or fd00:50::/48",
        )
    }
}

impl Decode for Cidrs {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        const EXPECTED: &str = "an IPv4 prefix like 10.42.0.0/16, or a dual-stack pair like [\"10.42.0.0/16\", \"fd00:42::/56\"] (IPv4 first)";
        let items = pair_items(node, path, d, EXPECTED)?;
        let mut v4 = None;
        let mut v6 = None;
        let mut ok = true;
        for (i, (p, n)) in items.iter().enumerate() {
            let Some(text) = string(n, p, d, EXPECTED) else {
                ok = false;
                continue;
            };
            let expected = match (i, text.parse::<IpNet>()) {
                (0, Ok(IpNet::V4(a))) => {
                    v4 = Some(a);
                    continue;
                }
                (1, Ok(IpNet::V6(a))) => {
                    v6 = Some(a);
                    continue;
                }
                (_, Ok(IpNet::V6(_))) => "an IPv4 prefix, alone or first in a dual-stack pair: k3s makes the first CIDR's family the cluster's primary one, and clusters and their Multus networks are IPv4-primary here (IPv6-only and IPv6-primary ones are not supported)",
                (_, Ok(IpNet::V4(_))) => "an IPv6 prefix: a dual-stack pair is one IPv4 and one IPv6 prefix",
                (_, Err(_)) => EXPECTED,
            };
            d.push(p, found(n), expected);
            ok = false;
        }
        Some(Cidrs { v4: v4?, v6 }).filter(|_| ok)
    }
}

/// Kernel option enums: a name, or the kernel's number as text or integer.
macro_rules! decode_kernel_enum {
    ($($t:ty),+) => {$(
        impl Decode for $t {
            fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
                let v = match &node.value {
                    Value::Str(s) => s.parse().ok(),
                    Value::Int(i) => u8::try_from(*i).ok().and_then(<$t>::from_number),
                    _ => None,
                };
                if v.is_none() {
                    d.push(path, found(node), format!("a {}: one of {}", <$t>::WHAT, <$t>::names()));
                }
                v
            }
        }
    )+};
}
decode_kernel_enum!(
    BondMode,
    PrimaryReselect,
    LacpRate,
    XmitHashPolicy,
    AdSelect
);

impl Decode for Mode {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        match string(node, path, d, "\"static\" or \"dhcp\"")? {
            "static" => Some(Mode::Static),
            "dhcp" => Some(Mode::Dhcp),
            _ => {
                d.push(path, found(node), "\"static\" or \"dhcp\"");
                None
            }
        }
    }
}

impl Decode for Role {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        parsed(node, path, d, "\"server\" or \"agent\"")
    }
}

impl Decode for MultusKind {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        const EXPECTED: &str = "\"macvlan\", \"ipvlan\" or \"vlan\"";
        match string(node, path, d, EXPECTED)? {
            "macvlan" => Some(MultusKind::Macvlan),
            "ipvlan" => Some(MultusKind::Ipvlan),
            "vlan" => Some(MultusKind::Vlan),
            _ => {
                d.push(path, found(node), EXPECTED);
                None
            }
        }
    }
}

impl Decode for MultusIpam {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        let v = match string(node, path, d, MultusIpam::NAMES)? {
            "node-pools" => MultusIpam::NodePools,
            "whereabouts" => MultusIpam::Whereabouts,
            "static" => MultusIpam::Static,
            "host-local" => MultusIpam::HostLocal,
            _ => {
                d.push(path, found(node), MultusIpam::NAMES);
                return None;
            }
        };
        Some(v)
    }
}

impl Decode for AddrRange {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        parsed(
            node,
            path,
            d,
            "an address range like 192.168.20.10-192.168.20.25",
        )
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        let Value::Array(items) = &node.value else {
            d.push(path, found(node), "an array");
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for (i, item) in items.iter().enumerate() {
            let p = index(path, i);
            d.record(&p, item.pos);
            match T::decode(item, &p, d) {
                Some(v) => out.push(v),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }
}

/// Keys of a map: node names, interface names, NAD names, or networks.
trait MapKey: Sized + Ord {
    fn from_key(key: &str) -> Option<Self>;
    const EXPECTED: &'static str;
}

impl MapKey for String {
    fn from_key(key: &str) -> Option<Self> {
        Some(key.to_string())
    }
    const EXPECTED: &'static str = "a name";
}

impl MapKey for Network {
    fn from_key(key: &str) -> Option<Self> {
        match key {
            "cluster" => Some(Network::Cluster),
            "storage" => Some(Network::Storage),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "a known network: cluster or storage";
}

fn map<K: MapKey, T>(
    node: &Node,
    path: &str,
    d: &mut Diags,
    mut value: impl FnMut(&Node, &str, &mut Diags) -> Option<T>,
) -> Option<BTreeMap<K, T>> {
    let Value::Table(entries) = &node.value else {
        d.push(path, found(node), "a table");
        return None;
    };
    let mut out = BTreeMap::new();
    let mut ok = true;
    for e in entries {
        let p = join(path, &e.key);
        d.record(&p, e.key_pos.or(e.node.pos));
        let Some(k) = K::from_key(&e.key) else {
            d.push(&p, Some(format!("key {:?}", e.key)), K::EXPECTED);
            ok = false;
            continue;
        };
        if matches!(e.node.value, Value::Null) {
            continue;
        }
        match value(&e.node, &p, d) {
            Some(v) => {
                out.insert(k, v);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

impl<K: MapKey, T: Decode> Decode for BTreeMap<K, T> {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        map(node, path, d, T::decode)
    }
}

/// Reads the fields of one table, then reports the keys nobody asked for.
struct Fields<'n> {
    entries: &'n [Entry],
    used: Vec<bool>,
    path: String,
    ok: bool,
}

impl<'n> Fields<'n> {
    fn new(node: &'n Node, path: &str, d: &mut Diags) -> Option<Self> {
        let Value::Table(entries) = &node.value else {
            d.push(path, found(node), "a table");
            return None;
        };
        for e in entries {
            d.record(&join(path, &e.key), e.key_pos.or(e.node.pos));
        }
        Some(Fields {
            entries,
            used: vec![false; entries.len()],
            path: path.to_string(),
            ok: true,
        })
    }

    /// The field `key`, absent when missing or `null` (Nix's `null` in JSON).
    fn opt<T: Decode>(&mut self, key: &str, d: &mut Diags) -> Option<T> {
        self.opt_with(key, d, T::decode)
    }

    fn opt_with<T>(
        &mut self,
        key: &str,
        d: &mut Diags,
        f: impl FnOnce(&Node, &str, &mut Diags) -> Option<T>,
    ) -> Option<T> {
        let i = self.entries.iter().position(|e| e.key == key)?;
        self.used[i] = true;
        let node = &self.entries[i].node;
        if matches!(node.value, Value::Null) {
            return None;
        }
        let v = f(node, &join(&self.path, key), d);
        if v.is_none() {
            self.ok = false;
        }
        v
    }

    fn req<T: Decode>(&mut self, key: &str, d: &mut Diags, expected: &str) -> Option<T> {
        let present = self
            .entries
            .iter()
            .any(|e| e.key == key && !matches!(e.node.value, Value::Null));
        if !present {
            d.push(
                &join(&self.path, key),
                None,
                format!("missing: expected {expected}"),
            );
            self.ok = false;
            return None;
        }
        self.opt(key, d)
    }

    /// Marks keys that are accepted and ignored.
    fn ignore(&mut self, keys: &[&str]) {
        for (i, e) in self.entries.iter().enumerate() {
            if keys.contains(&e.key.as_str()) {
                self.used[i] = true;
            }
        }
    }

    /// Reports unknown keys; `hint` may explain one; true when all fields
    /// decoded. Unknown keys do not make the table unusable, so the rest of
    /// the profile is still validated and every problem shows in one run.
    fn finish(self, d: &mut Diags, known: &str, hint: impl Fn(&str) -> Option<String>) -> bool {
        for (e, used) in self.entries.iter().zip(&self.used) {
            if !used {
                let expected =
                    hint(&e.key).unwrap_or_else(|| format!("one of the known keys: {known}"));
                d.push(
                    &join(&self.path, &e.key),
                    Some(format!("unknown key {:?}", e.key)),
                    expected,
                );
            }
        }
        self.ok
    }
}

fn no_hint(_: &str) -> Option<String> {
    None
}

impl Decode for Interfaces {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        let mut f = Fields::new(node, path, d)?;
        let v = Interfaces {
            cluster: f.opt("cluster", d),
            storage: f.opt("storage", d),
            trunk: f.opt("trunk", d),
            bond_members: f.opt("bondMembers", d),
        };
        f.finish(d, "cluster, storage, trunk, bondMembers", no_hint)
            .then_some(v)
    }
}

impl Decode for BondConfig {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        let mut f = Fields::new(node, path, d)?;
        let v = BondConfig {
            mode: f.opt("mode", d),
            members: f.opt("members", d),
            primary: f.opt("primary", d),
            miimon: f.opt("miimon", d),
            updelay: f.opt("updelay", d),
            downdelay: f.opt("downdelay", d),
            primary_reselect: f.opt("primaryReselect", d),
            lacp_rate: f.opt("lacpRate", d),
            xmit_hash_policy: f.opt("xmitHashPolicy", d),
            min_links: f.opt("minLinks", d),
            ad_select: f.opt("adSelect", d),
        };
        f.finish(
            d,
            "mode, members, primary, miimon, updelay, downdelay, primaryReselect, lacpRate, xmitHashPolicy, minLinks, adSelect",
            no_hint,
        )
        .then_some(v)
    }
}

impl Decode for Reservation {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        let mut f = Fields::new(node, path, d)?;
        let mac = f.req("mac", d, "the node's MAC address");
        let ip = f.req("ip", d, "the reserved IPv4 address");
        let ok = f.finish(d, "mac, ip", no_hint);
        Some(Reservation { mac: mac?, ip: ip? }).filter(|_| ok)
    }
}

impl Decode for DhcpServer {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        let mut f = Fields::new(node, path, d)?;
        let mac = f.opt("mac", d);
        let ip = f.req("ip", d, "the server's IPv4 address");
        let subnet = f.req("subnet", d, "the served subnet like 192.168.1.0/24");
        let range_start = f.req("rangeStart", d, "the first dynamic address");
        let range_end = f.req("rangeEnd", d, "the last dynamic address");
        let gateway = f.opt("gateway", d);
        let lease_time = f.req("leaseTime", d, "a lease time like 12h");
        let ok = f.finish(
            d,
            "mac, ip, subnet, rangeStart, rangeEnd, gateway, leaseTime",
            no_hint,
        );
        Some(DhcpServer {
            mac,
            ip: ip?,
            subnet: subnet?,
            range_start: range_start?,
            range_end: range_end?,
            gateway,
            lease_time: lease_time?,
        })
        .filter(|_| ok)
    }
}

impl Decode for RouteSpec {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        let mut f = Fields::new(node, path, d)?;
        let to = f.req(
            "to",
            d,
            "the destination prefix like 10.50.0.0/16 or fd00:50::/48",
        );
        let v = RouteSpec {
            to: to.unwrap_or(IpNet::V4(Ipv4Net::default())),
            via: f.opt("via", d),
            dev: f.opt("dev", d),
            metric: f.opt("metric", d),
        };
        let ok = f.finish(d, "to, via, dev, metric", no_hint);
        (ok && to.is_some()).then_some(v)
    }
}

impl Decode for MultusNet {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        let mut f = Fields::new(node, path, d)?;
        let kind = f.req("type", d, "\"macvlan\", \"ipvlan\" or \"vlan\"");
        let master = f.req("master", d, "the host interface the NAD sits on");
        let subnet = f.req(
            "subnet",
            d,
            "the NAD's subnet like 192.168.20.0/24, or a dual-stack pair like [\"192.168.20.0/24\", \"fd00:20::/64\"]",
        );
        let v = MultusNet {
            kind: kind.unwrap_or(MultusKind::Macvlan),
            master: master.clone().unwrap_or_default(),
            mode: f.opt("mode", d),
            vlan_id: f.opt("vlanId", d),
            subnet: subnet.unwrap_or_default(),
            range_start: f.opt("rangeStart", d),
            range_end: f.opt("rangeEnd", d),
            gateway: f.opt("gateway", d),
            ipam: f.opt("ipam", d),
            pods_per_node: f.opt("podsPerNode", d),
            pod_ranges: f.opt("podRanges", d).unwrap_or_default(),
            namespace: f.opt("namespace", d),
            host_interface: f.opt("hostInterface", d),
            host_addresses: f.opt("hostAddresses", d).unwrap_or_default(),
        };
        let ok = f.finish(
            d,
            "type, master, mode, vlanId, subnet, rangeStart, rangeEnd, gateway, ipam, podsPerNode, podRanges, namespace, hostInterface, hostAddresses",
            no_hint,
        );
        (ok && kind.is_some() && master.is_some() && subnet.is_some()).then_some(v)
    }
}

impl Decode for NodeOverride {
    fn decode(node: &Node, path: &str, d: &mut Diags) -> Option<Self> {
        let mut f = Fields::new(node, path, d)?;
        let v = NodeOverride {
            role: f.opt("role", d),
            interfaces: f.opt("interfaces", d),
            vlan_ids: f.opt("vlanIds", d).unwrap_or_default(),
            bond_config: f.opt("bondConfig", d),
            gateway: f.opt("gateway", d),
            mtu: f.opt("mtu", d).unwrap_or_default(),
            routes: f.opt("routes", d).unwrap_or_default(),
        };
        f.finish(
            d,
            "role, interfaces, vlanIds, bondConfig, gateway, mtu, routes",
            no_hint,
        )
        .then_some(v)
    }
}

fn top_level_hint(key: &str) -> Option<String> {
    match key {
        "clusterVlanIds" | "storageVlanIds" => Some(format!(
            "per-node VLAN IDs written as nodes.<node>.vlanIds.{} (and the interface name in nodes.<node>.interfaces)",
            key.trim_end_matches("VlanIds")
        )),
        "nodeConfig" | "k3sExtraFlags" => Some(
            "data only: n3xnet derives k3s flags and network configuration from the profile's fields".into(),
        ),
        _ => None,
    }
}

/// Decodes a whole profile; `None` when any diagnostic was reported.
pub fn profile(root: &Node, d: &mut Diags) -> Option<Profile> {
    let mut f = Fields::new(root, "", d)?;
    f.ignore(LEGACY_KEYS);
    let ip_addresses = f.opt_with("ipAddresses", d, |n, p, d| {
        map::<String, _>(n, p, d, |n, p, d| {
            map::<Network, _>(n, p, d, NetAddrs::decode)
        })
    });
    let interfaces: Option<Interfaces> = f.req("interfaces", d, "a table with at least `cluster`");
    let server_api: Option<String> =
        f.req("serverApi", d, "the API URL like https://192.168.1.1:6443");
    let cluster_cidr: Option<Cidrs> = f.req(
        "clusterCidr",
        d,
        "the pod CIDR like 10.42.0.0/16 (or a dual-stack pair)",
    );
    let service_cidr: Option<Cidrs> = f.req(
        "serviceCidr",
        d,
        "the service CIDR like 10.43.0.0/16 (or a dual-stack pair)",
    );
    let p = Profile {
        mode: f.opt("mode", d).unwrap_or_default(),
        ip_addresses: ip_addresses.unwrap_or_default(),
        interfaces: interfaces.clone().unwrap_or_default(),
        vlan_ids: f.opt("vlanIds", d).unwrap_or_default(),
        bond_config: f.opt("bondConfig", d),
        reservations: f.opt("reservations", d).unwrap_or_default(),
        dhcp_server: f.opt("dhcpServer", d),
        server_api: server_api.clone().unwrap_or_default(),
        cluster_cidr: cluster_cidr.unwrap_or_default(),
        service_cidr: service_cidr.unwrap_or_default(),
        gateway: f.opt("gateway", d),
        mtu: f.opt("mtu", d).unwrap_or_default(),
        routes: f.opt("routes", d).unwrap_or_default(),
        multus: f.opt("multus", d).unwrap_or_default(),
        nodes: f.opt("nodes", d).unwrap_or_default(),
    };
    let ok = f.finish(
        d,
        "mode, ipAddresses, interfaces, vlanIds, bondConfig, reservations, dhcpServer, serverApi, clusterCidr, serviceCidr, gateway, mtu, routes, multus, nodes",
        top_level_hint,
    );
    let required = interfaces.is_some()
        && server_api.is_some()
        && cluster_cidr.is_some()
        && service_cidr.is_some();
    (ok && required).then_some(p)
}
