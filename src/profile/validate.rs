//! Whole-profile checks: what no single node can judge (addresses unique
//! across nodes, one subnet per network, CIDRs, serverApi, DHCP server), then
//! every node resolved.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

use super::diag::{join, Diags};
use super::model::Profile;
use super::resolve;
use super::resolve::link_local;
use crate::kinds::{Mode, Network};

/// Runs every check; problems land in `d`.
pub fn validate(p: &Profile, d: &mut Diags) {
    let nodes = p.node_names();
    if nodes.is_empty() {
        d.push(
            "ipAddresses",
            None,
            "at least one node (ipAddresses.<node>.cluster)",
        );
    }
    for n in &nodes {
        if !valid_node_name(n) {
            d.push(
                &join("ipAddresses", n),
                Some(format!("node name {n:?}")),
                "a Kubernetes node name: lowercase letters, digits, '-' and '.', starting and ending alphanumeric",
            );
        }
    }
    unique_addresses(p, d);
    one_subnet_per_network(p, d);
    cidrs(p, d);
    if let Err(expected) = server_api_host(&p.server_api) {
        d.push("serverApi", Some(format!("{:?}", p.server_api)), expected);
    }
    reservations(p, d);
    dhcp_server(p, d);
    for (nad, m) in &p.multus {
        for n in m.host_addresses.keys().filter(|n| !nodes.contains(n)) {
            let path = join(&join(&join("multus", nad), "hostAddresses"), n);
            d.push(&path, Some(format!("node {n:?}")), "a node of this profile");
        }
    }
    multus_subnets(p, d);
    super::pools::check(p, d);
    for n in &nodes {
        resolve::resolve_node(p, n, d);
    }
}

fn valid_node_name(n: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    let ends = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    n.len() <= 253 && n.chars().all(ok_char) && ends(n.chars().next()) && ends(n.chars().last())
}

/// The host of `https://HOST[:PORT][/]`, or what was expected.
pub fn server_api_host(url: &str) -> Result<&str, &'static str> {
    const EXPECTED: &str = "an https URL of the API server like https://192.168.1.1:6443";
    let rest = url.strip_prefix("https://").ok_or(EXPECTED)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    if let Some(p) = port {
        if !p.parse::<u16>().is_ok_and(|p| p > 0) {
            return Err(EXPECTED);
        }
    }
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if host_ok {
        Ok(host)
    } else {
        Err(EXPECTED)
    }
}

/// The port of a valid `serverApi` URL ([`server_api_host`]): the one it
/// names, else k3s's 6443.
pub fn server_api_port(url: &str) -> u16 {
    url.trim_end_matches('/')
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(6443)
}

fn addr_path(node: &str, net: Network) -> String {
    join(&join("ipAddresses", node), net.as_str())
}

/// The address of `node` on `net` in the family `v6` says.
fn written(p: &Profile, node: &str, net: Network, v6: bool) -> Option<IpNet> {
    let a = p.ip_addresses.get(node)?.get(&net)?;
    if v6 {
        a.v6.map(IpNet::V6)
    } else {
        a.v4.map(IpNet::V4)
    }
}

/// Where the address of `node` on `net` in the family `v6` says was written.
fn family_path(p: &Profile, node: &str, net: Network, v6: bool) -> String {
    let base = addr_path(node, net);
    match p.ip_addresses.get(node).and_then(|m| m.get(&net)) {
        Some(a) => a.path(&base, v6),
        None => base,
    }
}

/// No two nodes share an address on a network, nor (IPv6) the link-local
/// address derived from it.
fn unique_addresses(p: &Profile, d: &mut Diags) {
    for net in Network::ALL {
        for v6 in [false, true] {
            let mut seen: BTreeMap<IpAddr, &str> = BTreeMap::new();
            let mut seen_ll: BTreeMap<IpAddr, &str> = BTreeMap::new();
            for node in p.ip_addresses.keys() {
                let Some(a) = written(p, node, net, v6) else {
                    continue;
                };
                let path = family_path(p, node, net, v6);
                if let Some(first) = seen.get(&a.addr()) {
                    d.push(
                        &path,
                        Some(a.addr().to_string()),
                        format!("an address no other node has ({first} has it)"),
                    );
                    continue;
                }
                seen.insert(a.addr(), node);
                let IpAddr::V6(a6) = a.addr() else { continue };
                let ll = IpAddr::V6(link_local(a6).addr());
                match seen_ll.get(&ll) {
                    Some(first) => d.push(
                        &path,
                        Some(a.to_string()),
                        format!("an address whose last 64 bits differ from every other node's on the {net} network: they make the link-local address {ll}, which {first}'s makes too"),
                    ),
                    None => {
                        seen_ll.insert(ll, node);
                    }
                }
            }
        }
    }
}

/// Every node's address on one network lies in the same subnet, per
/// family: the DHCP server's for DHCP clusters (IPv4), else the one most
/// nodes use.
fn one_subnet_per_network(p: &Profile, d: &mut Diags) {
    for net in Network::ALL {
        for v6 in [false, true] {
            let mut by_subnet: BTreeMap<IpNet, Vec<&str>> = BTreeMap::new();
            for node in p.ip_addresses.keys() {
                if let Some(a) = written(p, node, net, v6) {
                    by_subnet.entry(a.trunc()).or_default().push(node);
                }
            }
            let dhcp_subnet = (!v6 && net == Network::Cluster && p.mode == Mode::Dhcp)
                .then(|| p.dhcp_server.as_ref().map(|s| IpNet::V4(s.subnet.trunc())))
                .flatten();
            let Some(main) = dhcp_subnet.or_else(|| {
                by_subnet
                    .iter()
                    .max_by_key(|(_, nodes)| nodes.len())
                    .map(|(s, _)| *s)
            }) else {
                continue;
            };
            let peers = by_subnet.get(&main).map(|v| v.join(", "));
            for (subnet, nodes) in &by_subnet {
                if *subnet == main {
                    continue;
                }
                for node in nodes {
                    let Some(a) = written(p, node, net, v6) else {
                        continue;
                    };
                    let like = match (&dhcp_subnet, &peers) {
                        (Some(_), _) => "dhcpServer.subnet".to_string(),
                        (None, Some(peers)) => format!("as {peers}"),
                        (None, None) => String::new(),
                    };
                    d.push(
                        &family_path(p, node, net, v6),
                        Some(a.to_string()),
                        format!("an address in the {net} subnet {main} ({like})"),
                    );
                }
            }
        }
    }
}

/// `clusterCidr` and `serviceCidr`, per family: networks, apart from each
/// other and from the node networks, IPv6 ones of a size k3s accepts; a
/// dual-stack pair in both or neither, and then on every node.
fn cidrs(p: &Profile, d: &mut Diags) {
    let overlap = |a: &IpNet, b: &IpNet| a.contains(&b.network()) || b.contains(&a.network());
    let fields = [
        ("clusterCidr", &p.cluster_cidr),
        ("serviceCidr", &p.service_cidr),
    ];
    for (cluster, service) in p.cluster_cidr.iter().zip(p.service_cidr.iter()) {
        if overlap(&cluster, &service) {
            let v6 = matches!(service, IpNet::V6(_));
            d.push(
                &p.service_cidr.path("serviceCidr", v6),
                Some(service.to_string()),
                format!("a CIDR not overlapping clusterCidr {cluster}"),
            );
        }
    }
    for (field, cidrs) in fields {
        for cidr in cidrs.iter() {
            let v6 = matches!(cidr, IpNet::V6(_));
            let path = cidrs.path(field, v6);
            if cidr.trunc() != cidr {
                d.push(
                    &path,
                    Some(cidr.to_string()),
                    format!("a network prefix (host bits zero: {})", cidr.trunc()),
                );
            }
            if let Some(expected) = v6.then(|| v6_problem(field, cidr)).flatten() {
                d.push(&path, Some(cidr.to_string()), expected);
            }
            let clash: BTreeSet<String> = p
                .ip_addresses
                .values()
                .flat_map(|m| m.iter())
                .flat_map(|(net, a)| a.iter().map(move |a| (net, a)))
                .filter(|(_, a)| overlap(&a.trunc(), &cidr))
                .map(|(net, a)| format!("{net} {}", a.trunc()))
                .collect();
            if !clash.is_empty() {
                let list: Vec<_> = clash.into_iter().collect();
                d.push(
                    &path,
                    Some(cidr.to_string()),
                    format!(
                        "a CIDR not overlapping the node networks ({})",
                        list.join(", ")
                    ),
                );
            }
        }
    }
    dual_stack(p, d);
}

/// Why an IPv6 `field` prefix is not one pods or services can use: of a
/// kind no pod address may be, or a size k3s refuses.
fn v6_problem(field: &str, cidr: IpNet) -> Option<&'static str> {
    if let IpAddr::V6(a) = cidr.network() {
        if a.is_multicast() || a.is_unicast_link_local() || a.to_ipv4_mapped().is_some() {
            return Some("a global or unique-local IPv6 prefix (not link-local fe80::/10, multicast ff00::/8 or IPv4-mapped)");
        }
    }
    let len = cidr.prefix_len();
    if field == "clusterCidr" && !(48..64).contains(&len) {
        // kube-controller-manager gives each node a /64
        // (--node-cidr-mask-size-ipv6) and counts node subnets in a bitmap
        // of at most 16 bits: /48 to /63.
        return Some("an IPv6 prefix from /48 to /63: k3s gives each node a /64 of it (node-cidr-mask-size-ipv6) and allocates at most 16 bits of node subnets");
    }
    if field == "serviceCidr" && len < 108 {
        return Some("an IPv6 prefix of /108 or longer: kube-apiserver refuses a service range of more than 20 host bits (k3s's own example is /112)");
    }
    None
}

/// A dual-stack Multus network's IPv6 prefix: a global or unique-local
/// network, /96 or shorter so that every IPv4 address of the NAD has its
/// IPv6 twin in the last 32 bits ([`MultusNet::twin`](super::model::MultusNet::twin)).
fn multus_subnets(p: &Profile, d: &mut Diags) {
    for (nad, m) in &p.multus {
        let Some(v6) = m.subnet.v6 else {
            continue;
        };
        let path = m.subnet.path(&join(&join("multus", nad), "subnet"), true);
        let found = || Some(v6.to_string());
        if v6.trunc() != v6 {
            d.push(
                &path,
                found(),
                format!("a network prefix (host bits zero: {})", v6.trunc()),
            );
        }
        if let Some(expected) = v6_problem(&path, IpNet::V6(v6)) {
            d.push(&path, found(), expected);
        }
        if v6.prefix_len() > 96 {
            d.push(&path, found(), "an IPv6 prefix of /96 or shorter: each IPv4 address of the NAD (pod ranges, gateway, shims) gets its IPv6 twin in the last 32 bits, like fd00:30::192.168.30.20");
        }
    }
}

/// A dual-stack cluster has both CIDRs dual-stack, and every node an IPv6
/// cluster address: k3s takes the node's `--node-ip` families to match the
/// cluster CIDR's, and refuses to start a node whose `--node-ip` has no
/// IPv6 address beside dual-stack CIDRs. Refused here, naming the node,
/// rather than emitting flags k3s will not start with.
fn dual_stack(p: &Profile, d: &mut Diags) {
    let (cluster, service) = (p.cluster_cidr.v6, p.service_cidr.v6);
    for (field, other, single) in [
        ("serviceCidr", "clusterCidr", &p.service_cidr),
        ("clusterCidr", "serviceCidr", &p.cluster_cidr),
    ] {
        if single.v6.is_none() && (cluster.is_some() || service.is_some()) {
            d.push(
                field,
                Some(format!("only IPv4 {}", single.v4)),
                format!("a dual-stack pair like {other}'s: k3s needs both CIDRs dual-stack"),
            );
        }
    }
    if cluster.is_none() && service.is_none() {
        return;
    }
    for node in p.node_names() {
        if written(p, &node, Network::Cluster, true).is_none() {
            d.push(
                &addr_path(&node, Network::Cluster),
                None,
                format!("{node}'s cluster IPv6 address too, like [\"192.168.200.1/24\", \"fd00:200::1/64\"]: the cluster CIDRs are dual-stack, and k3s refuses dual-stack CIDRs on a node whose --node-ip has no IPv6 address"),
            );
        }
    }
}

fn reservations(p: &Profile, d: &mut Diags) {
    let mut macs = BTreeMap::new();
    for (node, r) in &p.reservations {
        let base = join("reservations", node);
        if let Some(first) = macs.insert(r.mac, node) {
            d.push(
                &join(&base, "mac"),
                Some(r.mac.to_string()),
                format!("a MAC no other node has ({first} has it)"),
            );
        }
        if let Some(a) = p
            .ip_addresses
            .get(node)
            .and_then(|m| m.get(&Network::Cluster)?.v4)
        {
            if a.addr() != r.ip {
                d.push(
                    &join(&base, "ip"),
                    Some(r.ip.to_string()),
                    format!(
                        "the node's cluster address {} (ipAddresses.{node}.cluster)",
                        a.addr()
                    ),
                );
            }
        }
        if let Some(s) = &p.dhcp_server {
            if !s.subnet.contains(&r.ip) {
                d.push(
                    &join(&base, "ip"),
                    Some(r.ip.to_string()),
                    format!("an address in dhcpServer.subnet {}", s.subnet),
                );
            }
        }
    }
}

fn dhcp_server(p: &Profile, d: &mut Diags) {
    let Some(s) = &p.dhcp_server else { return };
    for (field, a) in [
        ("ip", Some(s.ip)),
        ("rangeStart", Some(s.range_start)),
        ("rangeEnd", Some(s.range_end)),
        ("gateway", s.gateway),
    ] {
        if let Some(a) = a.filter(|a| !s.subnet.contains(a)) {
            d.push(
                &join("dhcpServer", field),
                Some(a.to_string()),
                format!("an address in dhcpServer.subnet {}", s.subnet),
            );
        }
    }
    if s.range_start > s.range_end {
        d.push(
            "dhcpServer.rangeEnd",
            Some(s.range_end.to_string()),
            format!("an address not below rangeStart {}", s.range_start),
        );
    }
    if !valid_lease_time(&s.lease_time) {
        d.push(
            "dhcpServer.leaseTime",
            Some(format!("{:?}", s.lease_time)),
            "a lease time like 12h, 30m, 3600 or infinite",
        );
    }
}

fn valid_lease_time(t: &str) -> bool {
    if t == "infinite" {
        return true;
    }
    let digits = t.trim_end_matches(['s', 'm', 'h', 'd', 'w']);
    t.len() - digits.len() <= 1 && !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_api_ports() {
        assert_eq!(server_api_port("https://192.168.1.1:7443/"), 7443);
        assert_eq!(server_api_port("https://k3s.example"), 6443);
    }

    #[test]
    fn server_api_forms() {
        assert_eq!(
            server_api_host("https://192.168.1.1:6443"),
            Ok("192.168.1.1")
        );
        assert_eq!(
            server_api_host("https://k3s.example:6443/"),
            Ok("k3s.example")
        );
        assert!(server_api_host("http://192.168.1.1:6443").is_err());
        assert!(server_api_host("https://192.168.1.1:0").is_err());
        assert!(server_api_host("https://").is_err());
    }

    #[test]
    fn lease_times() {
        for ok in ["12h", "3600", "infinite", "30m"] {
            assert!(valid_lease_time(ok), "{ok}");
        }
        for bad in ["", "h", "12hh", "1.5h", "-1"] {
            assert!(!valid_lease_time(bad), "{bad}");
        }
    }
}

/// IPv6 in `ipAddresses`: the forms, and every problem with its field path.
#[cfg(test)]
mod ipv6_tests {
    use crate::profile::{parse, Format};

    const HEAD: &str = "serverApi = \"https://192.168.1.1:6443\"\nclusterCidr = \"10.42.0.0/16\"\nserviceCidr = \"10.43.0.0/16\"\n[interfaces]\ncluster = \"eth1\"\nstorage = \"eth2\"\n[ipAddresses]\n";

    /// The problems of `HEAD` + `nodes`, each as `path: message`.
    fn problems(nodes: &str) -> Vec<String> {
        match parse(&format!("{HEAD}{nodes}"), Format::Toml) {
            Ok(_) => Vec::new(),
            Err(d) => d.iter().map(ToString::to_string).collect(),
        }
    }

    fn has(problems: &[String], want: &str) -> bool {
        problems.iter().any(|p| p.starts_with(want))
    }

    #[test]
    fn the_scalar_form_is_unchanged_and_the_list_decodes_both_families() {
        let p = parse(
            &format!("{HEAD}server-1 = {{ cluster = \"192.168.1.1\", storage = [\"10.9.0.1/24\", \"fd00:9::1/64\"] }}\n"),
            Format::Toml,
        );
        let p = p.unwrap();
        let d = crate::profile::resolve(&p, "server-1").unwrap();
        let on_eth2: Vec<String> = d
            .addresses_on("eth2")
            .map(|a| a.address.to_string())
            .collect();
        // The link-local address comes from the global's last 64 bits.
        assert_eq!(on_eth2, ["10.9.0.1/24", "fd00:9::1/64", "fe80::1/64"]);
        assert_eq!(
            serde_json::to_value(&p).unwrap()["ipAddresses"]["server-1"]["storage"],
            serde_json::json!(["10.9.0.1/24", "fd00:9::1/64"])
        );
        let json = r#"{"serverApi":"https://192.168.1.1:6443","clusterCidr":"10.42.0.0/16","serviceCidr":"10.43.0.0/16","interfaces":{"cluster":"eth1"},"ipAddresses":{"server-1":{"cluster":"192.168.1.1"}}}"#;
        let p = parse(json, Format::Json).unwrap();
        let a = p.ip_addresses["server-1"][&crate::kinds::Network::Cluster];
        assert_eq!(a.v4, Some("192.168.1.1/24".parse().unwrap()));
        assert_eq!(a.v6, None);
        assert_eq!(
            serde_json::to_value(&p).unwrap()["ipAddresses"]["server-1"]["cluster"],
            "192.168.1.1/24"
        );
    }

    #[test]
    fn forms_that_are_refused() {
        let e = problems("server-1 = { cluster = \"fd00::1/64\" }\n");
        assert!(has(&e, "ipAddresses.server-1.cluster: found fd00::1/64, expected an IPv4 address here; IPv6 is written in the list form"), "{e:?}");
        let e = problems("server-1 = { cluster = [\"192.168.1.1/24\", \"fd00::1\"] }\n");
        assert!(has(&e, "ipAddresses.server-1.cluster[1]: found \"fd00::1\", expected an IPv6 address with its prefix length"), "{e:?}");
        let e = problems("server-1 = { cluster = [\"192.168.1.1/24\", \"192.168.1.2/24\"] }\n");
        assert!(has(&e, "ipAddresses.server-1.cluster[1]: found 192.168.1.2/24, expected an address of the other family"), "{e:?}");
        let e = problems("server-1 = { cluster = [] }\n");
        assert!(has(&e, "ipAddresses.server-1.cluster: found an array of 0, expected one IPv4 and/or one IPv6 address"), "{e:?}");
        let e = problems("server-1 = { cluster = [\"fd00::1/64\"] }\n");
        assert!(has(&e, "ipAddresses.server-1.cluster: found only IPv6 fd00::1/64, expected server-1's cluster IPv4 address too (IPv6-only nodes are not supported yet)"), "{e:?}");
    }

    #[test]
    fn ipv6_problems_name_their_field() {
        let e = problems(
            "server-1 = { cluster = [\"192.168.1.1/24\", \"fe80::1/64\"], storage = [\"ff02::1/64\"] }\nserver-2 = { cluster = [\"192.168.1.2/24\", \"fd00:1::/64\"] }\n",
        );
        assert!(has(&e, "ipAddresses.server-1.cluster[1]: found fe80::1/64, expected a global or unique-local IPv6 address: a link's link-local address (fe80::/10) is derived from it"), "{e:?}");
        assert!(has(&e, "ipAddresses.server-1.storage[0]: found ff02::1/64, expected a unicast IPv6 host address"), "{e:?}");
        assert!(has(&e, "ipAddresses.server-2.cluster[1]: found fd00:1::/64, expected a host address, not the subnet-router anycast address"), "{e:?}");
    }

    #[test]
    fn derived_link_locals_are_unique_on_a_network() {
        let e = problems(
            "server-1 = { cluster = [\"192.168.1.1/24\", \"fd00:1:0:1::5/48\"] }\nserver-2 = { cluster = [\"192.168.1.2/24\", \"fd00:1:0:2::5/48\"] }\n",
        );
        assert!(has(&e, "ipAddresses.server-2.cluster[1]: found fd00:1:0:2::5/48, expected an address whose last 64 bits differ from every other node's on the cluster network: they make the link-local address fe80::5, which server-1's makes too"), "{e:?}");
        let e = problems("server-1 = { cluster = [\"192.168.1.1/24\", \"fd00:1:0:1::/48\"] }\n");
        assert!(has(&e, "ipAddresses.server-1.cluster[1]: found fd00:1:0:1::/48, expected an address whose last 64 bits are not all zero"), "{e:?}");
    }

    #[test]
    fn ipv6_duplicates_and_subnets_across_nodes() {
        let e = problems(
            "server-1 = { cluster = [\"192.168.1.1/24\", \"fd00:1::1/64\"] }\nserver-2 = { cluster = [\"192.168.1.2/24\", \"fd00:1::1/64\"] }\nserver-3 = { cluster = [\"192.168.1.3/24\", \"fd00:1::3/64\"] }\nserver-4 = { cluster = [\"192.168.1.4/24\", \"fd00:2::4/64\"] }\n",
        );
        assert!(has(&e, "ipAddresses.server-2.cluster[1]: found fd00:1::1, expected an address no other node has (server-1 has it)"), "{e:?}");
        assert!(has(&e, "ipAddresses.server-4.cluster[1]: found fd00:2::4/64, expected an address in the cluster subnet fd00:1::/64"), "{e:?}");
    }

    #[test]
    fn ipv6_networks_of_one_node_may_not_overlap() {
        let e = problems(
            "server-1 = { cluster = [\"192.168.1.1/24\", \"fd00:1::1/64\"], storage = [\"192.168.2.1/24\", \"fd00:1::2/48\"] }\n",
        );
        assert!(has(&e, "ipAddresses.server-1.storage[1]: found fd00:1::2/48, expected a subnet not overlapping fd00:1::1/64 on eth1"), "{e:?}");
    }

    #[test]
    fn a_link_with_ipv6_needs_an_mtu_of_1280() {
        let e = problems(
            "server-1 = { cluster = [\"192.168.1.1/24\", \"fd00:1::1/64\"] }\n[mtu]\neth1 = 1200\n",
        );
        assert!(has(&e, "mtu.eth1: found 1200, expected an MTU of at least 1280, since eth1 has an IPv6 address"), "{e:?}");
        assert!(
            problems("server-1 = { cluster = \"192.168.1.1\" }\n[mtu]\neth1 = 1200\n").is_empty()
        );
    }

    #[test]
    fn ipv6_elsewhere_is_not_supported_yet() {
        // A dual-stack NAD's other addresses are the IPv4 ones' twins.
        let e = problems("server-1 = { cluster = \"192.168.1.1\" }\n[multus.pods]\ntype = \"macvlan\"\nmaster = \"eth1\"\nsubnet = [\"192.168.30.0/24\", \"fd00:30::/64\"]\nrangeStart = \"fd00:30::10\"\n");
        assert!(has(&e, "multus.pods.rangeStart: found \"fd00:30::10\", expected an IPv4 address like 192.168.1.1; IPv6 is not supported here yet (only in ipAddresses, clusterCidr, serviceCidr, gateway, routes and a Multus subnet, whose other addresses get IPv6 twins)"), "{e:?}");
    }
}

/// IPv6 `gateway` and `routes`: the forms, the resolved routes, and every
/// problem with its field path.
#[cfg(test)]
mod ipv6_route_tests {
    use crate::profile::{parse, resolve, Format, Profile};

    const HEAD: &str = "serverApi = \"https://192.168.1.1:6443\"\nclusterCidr = \"10.42.0.0/16\"\nserviceCidr = \"10.43.0.0/16\"\n";
    const NODES: &str = "[interfaces]\ncluster = \"eth1\"\nstorage = \"eth2\"\n[ipAddresses]\nserver-1 = { cluster = [\"192.168.1.1/24\", \"fd00:1::1/64\"], storage = \"10.9.0.1/24\" }\n";

    /// `HEAD` + `top` (top-level keys) + `NODES` + `tail` (tables).
    fn load(top: &str, tail: &str) -> Result<Profile, Vec<String>> {
        parse(&format!("{HEAD}{top}{NODES}{tail}"), Format::Toml)
            .map_err(|d| d.iter().map(ToString::to_string).collect())
    }

    fn problems(top: &str, tail: &str) -> Vec<String> {
        load(top, tail).err().unwrap_or_default()
    }

    fn has(problems: &[String], want: &str) -> bool {
        problems.iter().any(|p| p.starts_with(want))
    }

    /// server-1's routes as `ip route` prints them.
    fn routes(top: &str, tail: &str) -> Vec<String> {
        let p = load(top, tail).unwrap();
        let d = resolve(&p, "server-1").unwrap();
        d.routes.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn the_gateway_string_stays_and_the_list_gives_a_default_route_per_family() {
        let p = load("gateway = \"192.168.1.254\"\n", "").unwrap();
        assert_eq!(
            serde_json::to_value(&p).unwrap()["gateway"],
            "192.168.1.254"
        );
        let both = "gateway = [\"192.168.1.254\", \"fd00:1::fe\"]\n";
        let p = load(both, "").unwrap();
        assert_eq!(
            serde_json::to_value(&p).unwrap()["gateway"],
            serde_json::json!(["192.168.1.254", "fd00:1::fe"])
        );
        assert_eq!(
            routes(both, ""),
            [
                "default via 192.168.1.254 dev eth1",
                "default via fd00:1::fe dev eth1"
            ]
        );
        assert_eq!(
            routes("gateway = [\"fd00:1::fe\"]\n", ""),
            ["default via fd00:1::fe dev eth1"]
        );
        // A node's gateway replaces the profile's, both families.
        let node = "[nodes.server-1]\ngateway = \"192.168.1.253\"\n";
        assert_eq!(routes(both, node), ["default via 192.168.1.253 dev eth1"]);
    }

    #[test]
    fn gateway_forms_that_are_refused() {
        let e = problems("gateway = \"fd00:1::fe\"\n", "");
        assert!(has(&e, "gateway: found fd00:1::fe, expected an IPv4 address here; IPv6 is written in the list form, like [\"fd00:1::fe\"] or [\"192.168.1.254\", \"fd00:1::fe\"]"), "{e:?}");
        let e = problems("gateway = [\"fd00:1::fe\", \"fd00:1::fd\"]\n", "");
        assert!(has(&e, "gateway[1]: found fd00:1::fd, expected an address of the other family: a dual-stack pair is one IPv4 and one IPv6 address"), "{e:?}");
        let e = problems("gateway = [\"192.168.1.254/24\"]\n", "");
        assert!(has(&e, "gateway[0]: found \"192.168.1.254/24\", expected an IPv4 gateway address like 192.168.1.254, or one per family"), "{e:?}");
    }

    #[test]
    fn ipv6_gateway_problems_name_their_field() {
        let e = problems("gateway = [\"192.168.1.254\", \"fd00:2::fe\"]\n", "");
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(has(&e, "gateway[1]: found fd00:2::fe, expected a gateway inside the subnet of one of the node's addresses"), "{e:?}");
        for bad in ["ff02::2", "::"] {
            let e = problems(&format!("gateway = [\"{bad}\"]\n"), "");
            assert!(
                has(
                    &e,
                    &format!("gateway[0]: found {bad}, expected a unicast next hop address")
                ),
                "{e:?}"
            );
        }
        let e = problems(
            "",
            "[nodes.server-1]\ngateway = [\"192.168.1.254\", \"fe80::1\"]\n",
        );
        assert!(has(&e, "nodes.server-1.gateway[1]: found fe80::1, expected a gateway inside an IPv6 subnet of the node's addresses; a router reached at its link-local address is written as a route with its link, like routes = [{ to = \"::/0\", via = \"fe80::1\", dev = \"eth1\" }]"), "{e:?}");
    }

    #[test]
    fn ipv6_routes_resolve_on_the_link_of_their_next_hop() {
        let tail = "[[routes]]\nto = \"fd00:50::/48\"\nvia = \"fd00:1::fe\"\n[[routes]]\nto = \"::/0\"\nvia = \"fe80::1\"\ndev = \"eth1\"\nmetric = 200\n[[routes]]\nto = \"fd00:60::/64\"\ndev = \"eth1\"\n";
        assert_eq!(
            routes("", tail),
            [
                "fd00:50::/48 via fd00:1::fe dev eth1",
                "default via fe80::1 dev eth1 metric 200",
                "fd00:60::/64 dev eth1",
            ]
        );
    }

    #[test]
    fn ipv6_route_problems_name_their_field() {
        let route = |to: &str, via: &str, dev: &str| {
            let mut r = format!("[[routes]]\nto = \"{to}\"\n");
            if !via.is_empty() {
                r += &format!("via = \"{via}\"\n");
            }
            if !dev.is_empty() {
                r += &format!("dev = \"{dev}\"\n");
            }
            problems("", &r)
        };
        for (to, via, dev, want) in [
            ("fd00:50::/48", "192.168.1.254", "", "routes[0].via: found 192.168.1.254, expected an IPv6 next hop, as `to` fd00:50::/48 is: a route's destination and next hop are of one family"),
            ("10.50.0.0/16", "fd00:1::fe", "", "routes[0].via: found fd00:1::fe, expected an IPv4 next hop, as `to` 10.50.0.0/16 is"),
            ("fd00:50::/48", "fe80::1", "", "routes[0].via: found fe80::1, expected a link-local next hop only with `dev`"),
            ("fd00:50::/48", "ff02::1", "eth1", "routes[0].via: found ff02::1, expected a unicast next hop address"),
            ("fd00:50::/48", "fd00:2::fe", "", "routes[0].via: found fd00:2::fe, expected a next hop inside the subnet of one of the node's addresses"),
            ("fd00:50::/48", "fd00:1::fe", "eth2", "routes[0].via: found fd00:1::fe, expected a next hop inside a subnet of eth2"),
            ("fd00:50::/48", "fe80::1", "eth2", "routes[0].dev: found \"eth2\", expected a link with an IPv6 address for an IPv6 route: eth2 has none in ipAddresses"),
            ("fd00:50::/48", "", "eth2", "routes[0].dev: found \"eth2\", expected a link with an IPv6 address for an IPv6 route"),
            ("fd00:50::1/48", "fd00:1::fe", "", "routes[0].to: found fd00:50::1/48, expected a network prefix (host bits zero: fd00:50::/48)"),
        ] {
            let e = route(to, via, dev);
            assert!(has(&e, want), "{want}: {e:?}");
        }
        // IPv4 routes through a link keep today's rules.
        assert!(problems("", "[[routes]]\nto = \"10.50.0.0/16\"\ndev = \"eth1\"\n").is_empty());
    }
}

/// `clusterCidr`/`serviceCidr`: the IPv4 string, the dual-stack pair, and
/// every problem with its field path.
#[cfg(test)]
mod cidr_tests {
    use crate::profile::{parse, Format, Profile};

    const NODES: &str = "[interfaces]\ncluster = \"eth1\"\n[ipAddresses]\nserver-1 = { cluster = [\"192.168.1.1/24\", \"fd00:1::1/64\"] }\n";

    fn load(cluster: &str, service: &str, nodes: &str) -> Result<Profile, Vec<String>> {
        let text = format!("serverApi = \"https://192.168.1.1:6443\"\nclusterCidr = {cluster}\nserviceCidr = {service}\n{nodes}");
        parse(&text, Format::Toml).map_err(|d| d.iter().map(ToString::to_string).collect())
    }

    /// The problems of a profile with these CIDRs, each as `path: message`.
    fn problems(cluster: &str, service: &str, nodes: &str) -> Vec<String> {
        load(cluster, service, nodes).err().unwrap_or_default()
    }

    fn has(problems: &[String], want: &str) -> bool {
        problems.iter().any(|p| p.starts_with(want))
    }

    const PAIR_C: &str = "[\"10.42.0.0/16\", \"fd00:42::/56\"]";
    const PAIR_S: &str = "[\"10.43.0.0/16\", \"fd00:43::/112\"]";

    #[test]
    fn the_string_stays_and_the_pair_decodes_and_serializes_as_written() {
        let p = load("\"10.42.0.0/16\"", "\"10.43.0.0/16\"", NODES).unwrap();
        assert_eq!(p.cluster_cidr.v6, None);
        assert_eq!(
            serde_json::to_value(&p).unwrap()["clusterCidr"],
            "10.42.0.0/16"
        );
        let p = load(PAIR_C, PAIR_S, NODES).unwrap();
        assert_eq!(p.cluster_cidr.to_string(), "10.42.0.0/16,fd00:42::/56");
        assert_eq!(p.service_cidr.v6, Some("fd00:43::/112".parse().unwrap()));
        assert_eq!(
            serde_json::to_value(&p).unwrap()["serviceCidr"],
            serde_json::json!(["10.43.0.0/16", "fd00:43::/112"])
        );
        // A one-element list is the string.
        let p = load("[\"10.42.0.0/16\"]", "\"10.43.0.0/16\"", NODES).unwrap();
        assert_eq!(p.cluster_cidr, "10.42.0.0/16".parse().unwrap());
    }

    #[test]
    fn forms_that_are_refused() {
        let e = problems("[\"fd00:42::/56\", \"10.42.0.0/16\"]", PAIR_S, NODES);
        assert!(has(&e, "clusterCidr[0]: found \"fd00:42::/56\", expected an IPv4 prefix, alone or first in a dual-stack pair"), "{e:?}");
        assert!(
            has(
                &e,
                "clusterCidr[1]: found \"10.42.0.0/16\", expected an IPv6 prefix"
            ),
            "{e:?}"
        );
        let e = problems(PAIR_C, "\"fd00:43::/112\"", NODES);
        assert!(
            has(
                &e,
                "serviceCidr: found \"fd00:43::/112\", expected an IPv4 prefix, alone or first"
            ),
            "{e:?}"
        );
        let e = problems(
            "[\"10.42.0.0/16\", \"fd00:42::/56\", \"fd00:44::/56\"]",
            PAIR_S,
            NODES,
        );
        assert!(has(&e, "clusterCidr: found"), "{e:?}");
        let e = problems("[\"10.42.0.0/16\", \"fd00:42::\"]", PAIR_S, NODES);
        assert!(has(&e, "clusterCidr[1]: found \"fd00:42::\", expected an IPv4 prefix like 10.42.0.0/16, or a dual-stack pair"), "{e:?}");
    }

    #[test]
    fn ipv6_cidrs_are_networks_of_a_size_k3s_takes() {
        assert_eq!(
            problems(
                "[\"10.42.0.0/16\", \"fd00:42::/48\"]",
                "[\"10.43.0.0/16\", \"fd00:43::/108\"]",
                NODES
            ),
            Vec::<String>::new()
        );
        for (cluster, service, want) in [
            ("fd00:42::/64", "fd00:43::/112", "clusterCidr[1]: found fd00:42::/64, expected an IPv6 prefix from /48 to /63"),
            ("fd00:42::/47", "fd00:43::/112", "clusterCidr[1]: found fd00:42::/47, expected an IPv6 prefix from /48 to /63"),
            ("fd00:42::/56", "fd00:43::/107", "serviceCidr[1]: found fd00:43::/107, expected an IPv6 prefix of /108 or longer"),
            ("fd00:42::1/56", "fd00:43::/112", "clusterCidr[1]: found fd00:42::1/56, expected a network prefix (host bits zero: fd00:42::/56)"),
            ("fe80:42::/56", "fd00:43::/112", "clusterCidr[1]: found fe80:42::/56, expected a global or unique-local IPv6 prefix"),
            ("fd00:42::/56", "ff05::/112", "serviceCidr[1]: found ff05::/112, expected a global or unique-local IPv6 prefix"),
        ] {
            let e = problems(
                &format!("[\"10.42.0.0/16\", \"{cluster}\"]"),
                &format!("[\"10.43.0.0/16\", \"{service}\"]"),
                NODES,
            );
            assert!(has(&e, want), "{want}: {e:?}");
        }
    }

    #[test]
    fn ipv6_cidrs_overlap_neither_each_other_nor_node_networks() {
        let e = problems(PAIR_C, "[\"10.43.0.0/16\", \"fd00:42:0:1::/112\"]", NODES);
        assert!(has(&e, "serviceCidr[1]: found fd00:42:0:1::/112, expected a CIDR not overlapping clusterCidr fd00:42::/56"), "{e:?}");
        let e = problems("[\"10.42.0.0/16\", \"fd00:1::/48\"]", PAIR_S, NODES);
        assert!(has(&e, "clusterCidr[1]: found fd00:1::/48, expected a CIDR not overlapping the node networks (cluster fd00:1::/64)"), "{e:?}");
        // The IPv4 halves keep today's checks.
        let e = problems("[\"192.168.0.0/16\", \"fd00:42::/56\"]", PAIR_S, NODES);
        assert!(has(&e, "clusterCidr[0]: found 192.168.0.0/16, expected a CIDR not overlapping the node networks (cluster 192.168.1.0/24)"), "{e:?}");
    }

    #[test]
    fn a_dual_stack_cluster_needs_both_pairs_and_ipv6_on_every_node() {
        let e = problems(PAIR_C, "\"10.43.0.0/16\"", NODES);
        assert!(has(&e, "serviceCidr: found only IPv4 10.43.0.0/16, expected a dual-stack pair like clusterCidr's"), "{e:?}");
        let e = problems("\"10.42.0.0/16\"", PAIR_S, NODES);
        assert!(has(&e, "clusterCidr: found only IPv4 10.42.0.0/16, expected a dual-stack pair like serviceCidr's"), "{e:?}");
        let nodes = format!("{NODES}agent-1 = {{ cluster = \"192.168.1.3\" }}\n");
        let e = problems(PAIR_C, PAIR_S, &nodes);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(
            has(
                &e,
                "ipAddresses.agent-1.cluster: agent-1's cluster IPv6 address too"
            ),
            "{e:?}"
        );
        // IPv6 on the node with IPv4 CIDRs stays today's single-stack cluster.
        assert_eq!(
            problems("\"10.42.0.0/16\"", "\"10.43.0.0/16\"", NODES),
            Vec::<String>::new()
        );
    }
}

/// Dual-stack Multus networks: the pair form, its IPv6 prefix's rules and
/// the shim's IPv6 twin.
#[cfg(test)]
mod multus_ipv6_tests {
    use ipnet::IpNet;

    use crate::profile::{parse, resolve, Format, Profile};

    const DEMO: &str = include_str!("../../profiles/demo.toml");

    fn load(subnet: &str) -> Result<Profile, Vec<String>> {
        let text = DEMO.replace(
            "subnet = \"192.168.30.0/24\"",
            &format!("subnet = {subnet}"),
        );
        parse(&text, Format::Toml).map_err(|d| d.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn the_shim_gets_the_ipv6_twin_of_its_address_and_a_link_local_one() {
        let p = load("[\"192.168.30.0/24\", \"fd00:30::/64\"]").unwrap();
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(
            json["multus"]["pods"]["subnet"],
            serde_json::json!(["192.168.30.0/24", "fd00:30::/64"])
        );
        let desired = resolve(&p, "server-1").unwrap();
        let on_shim: Vec<IpNet> = desired
            .addresses
            .iter()
            .filter(|a| a.link == "mv-pods")
            .map(|a| a.address)
            .collect();
        let want: Vec<IpNet> = [
            "192.168.30.1/24",
            "fd00:30::c0a8:1e01/64",
            "fe80::c0a8:1e01/64",
        ]
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
        assert_eq!(on_shim, want);
        // An IPv4 NAD: its one string, and no IPv6 on the shim.
        let p = load("\"192.168.30.0/24\"").unwrap();
        assert_eq!(
            serde_json::to_value(&p).unwrap()["multus"]["pods"]["subnet"],
            "192.168.30.0/24"
        );
        let desired = resolve(&p, "server-1").unwrap();
        assert!(!desired
            .addresses
            .iter()
            .any(|a| a.link == "mv-pods" && a.address.addr().is_ipv6()));
    }

    #[test]
    fn the_ipv6_prefix_must_hold_the_twins() {
        for (subnet, want) in [
            ("[\"192.168.30.0/24\", \"fd00:30::/112\"]", "multus.pods.subnet[1]: found fd00:30::/112, expected an IPv6 prefix of /96 or shorter"),
            ("[\"192.168.30.0/24\", \"fd00:30::1/64\"]", "multus.pods.subnet[1]: found fd00:30::1/64, expected a network prefix (host bits zero: fd00:30::/64)"),
            ("[\"192.168.30.0/24\", \"fe80::/64\"]", "multus.pods.subnet[1]: found fe80::/64, expected a global or unique-local IPv6 prefix"),
            ("[\"fd00:30::/64\", \"192.168.30.0/24\"]", "multus.pods.subnet[0]: found \"fd00:30::/64\", expected an IPv4 prefix, alone or first in a dual-stack pair"),
            ("\"fd00:30::/64\"", "multus.pods.subnet: found \"fd00:30::/64\", expected an IPv4 prefix, alone or first"),
        ] {
            let e = load(subnet).unwrap_err();
            assert!(e.iter().any(|p| p.starts_with(want)), "{want}: {e:?}");
        }
    }
}
