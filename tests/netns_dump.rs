//! `Handle::dump` against what `ip` reports for the same namespace.

mod netns_util;

use n3xnet::netlink::Handle;
use n3xnet::state::{Dad, LinkInfo, OperState};
use netns_util::{netns_tier, runtime, Netns};

#[test]
fn dump_matches_ip() {
    if !netns_tier() {
        return;
    }
    let ns = Netns::new();
    let sw = Netns::new();
    ns.nic("eth1", &sw, "sw1");
    ns.ip("link set eth1 mtu 1400 up");
    ns.ip("link set eth1 alias uplink");
    ns.ip("link add mv0 link eth1 type macvlan mode private");
    ns.ip("link set mv0 addrgenmode none");
    ns.ip("link add br0 type bridge");
    ns.ip("link add v0 type veth peer name v1");
    ns.ip("link set v0 master br0");
    ns.ip("addr add 10.1.0.2/24 dev eth1");
    ns.ip("addr add 10.1.1.2/24 dev eth1 valid_lft 300 preferred_lft 200");
    ns.ip("-6 addr add fd00:7::2/64 dev eth1");
    ns.ip("-6 addr add fd00:8::2/64 dev eth1 nodad");
    ns.ip("route add 10.50.0.0/16 via 10.1.0.1 dev eth1 metric 7 proto static");
    ns.ip("-6 route add fd00:50::/48 via fd00:8::1 dev eth1 proto static");

    let state = runtime().block_on(async {
        let h = Handle::open(Some(&ns.name)).unwrap();
        h.dump().await.unwrap()
    });

    let eth1 = state.link("eth1").unwrap();
    let ip_eth1 = ns.link("eth1");
    assert_eq!(eth1.index as u64, ip_eth1["ifindex"].as_u64().unwrap());
    assert_eq!(eth1.info, LinkInfo::Veth);
    assert_eq!(eth1.mtu, 1400);
    assert_eq!(
        eth1.mac.unwrap().to_string(),
        ip_eth1["address"].as_str().unwrap()
    );
    assert_eq!(eth1.alias.as_deref(), Some("uplink"));
    assert!(eth1.admin_up && eth1.carrier);
    assert_eq!(eth1.operstate, OperState::Up);
    assert!(!eth1.ipv6_link_local_off);
    assert_eq!(
        eth1.parent, None,
        "a veth peer in another netns is no parent"
    );

    let mv0 = state.link("mv0").unwrap();
    assert_eq!(
        mv0.info,
        LinkInfo::Macvlan {
            mode: "private".into()
        }
    );
    assert_eq!(mv0.parent.as_deref(), Some("eth1"));
    assert!(mv0.ipv6_link_local_off);
    assert!(!mv0.admin_up);
    assert_eq!(mv0.operstate, OperState::Down);

    assert_eq!(state.link("br0").unwrap().info, LinkInfo::Bridge);
    assert_eq!(state.link("v0").unwrap().master.as_deref(), Some("br0"));
    assert_eq!(
        state.link("v0").unwrap().parent,
        None,
        "a veth's IFLA_LINK is its peer"
    );

    let addrs: Vec<_> = state
        .addresses_on("eth1")
        .filter(|a| a.address.addr().is_ipv4())
        .collect();
    assert_eq!(addrs.len(), 2);
    // IPv6 too, every one `ip` lists (the kernel's own link-local among
    // them), with where it stands in DAD.
    let v6 = |a: &str| {
        state
            .addresses_on("eth1")
            .find(|x| x.address.to_string() == a)
            .unwrap_or_else(|| panic!("no {a} in {:?}", state.addresses))
    };
    let ip_v6 = ns.ip_json("-6 addr show dev eth1");
    let listed = ip_v6[0]["addr_info"].as_array().unwrap();
    let dumped = state
        .addresses_on("eth1")
        .filter(|a| a.address.addr().is_ipv6());
    assert_eq!(dumped.count(), listed.len(), "{ip_v6}");
    let fresh = v6("fd00:7::2/64");
    assert!(!fresh.is_owned());
    // Just added on a link with carrier: still probing, unless DAD was
    // quicker than this dump.
    let probing = listed
        .iter()
        .find(|a| a["local"] == "fd00:7::2")
        .is_some_and(|a| a["tentative"] == true);
    assert_eq!(fresh.dad == Some(Dad::Tentative), probing);
    assert_eq!(v6("fd00:8::2/64").dad, None, "nodad: usable at once");
    let fixed = addrs
        .iter()
        .find(|a| a.address.to_string() == "10.1.0.2/24")
        .unwrap();
    assert_eq!(
        (
            fixed.valid_lifetime,
            fixed.preferred_lifetime,
            fixed.protocol
        ),
        (None, None, 0)
    );
    let dynamic = addrs
        .iter()
        .find(|a| a.address.to_string() == "10.1.1.2/24")
        .unwrap();
    assert!(dynamic.is_dynamic());
    assert!(dynamic.valid_lifetime.unwrap() <= 300 && dynamic.valid_lifetime.unwrap() > 290);
    assert!(dynamic.preferred_lifetime.unwrap() <= 200);

    let r = state
        .routes
        .iter()
        .find(|r| r.destination.to_string() == "10.50.0.0/16")
        .unwrap();
    assert_eq!(r.gateway, Some("10.1.0.1".parse().unwrap()));
    assert_eq!(r.link.as_deref(), Some("eth1"));
    assert_eq!(r.metric, Some(7));
    assert_eq!(r.protocol, 4);
    assert_eq!(r.scope, "universe");
    let prefix = state
        .routes
        .iter()
        .find(|r| r.destination.to_string() == "10.1.0.0/24")
        .unwrap();
    assert_eq!((prefix.protocol, prefix.scope.as_str()), (2, "link"));
    // Only the main table: the local table's host routes stay out.
    assert!(state.routes.iter().all(|r| r.scope != "host"));
    // IPv6: every main-table unicast route `ip -6 route` shows on eth1,
    // metrics as the kernel holds them (1024 for one added without).
    let mut v6: Vec<String> = state
        .routes
        .iter()
        .filter(|r| r.destination.addr().is_ipv6() && r.link.as_deref() == Some("eth1"))
        .map(|r| {
            let via = r.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
            format!("{}{via} {:?} {}", r.destination, r.metric, r.protocol)
        })
        .collect();
    v6.sort();
    assert_eq!(
        v6,
        [
            "fd00:50::/48 via fd00:8::1 Some(1024) 4",
            "fd00:7::/64 Some(256) 2",
            "fd00:8::/64 Some(256) 2",
            "fe80::/64 Some(256) 2",
        ]
    );
    let ip6 = ns.ip_json("-6 route show table main dev eth1");
    assert_eq!(ip6.as_array().map(Vec::len), Some(v6.len()), "{ip6}");
    // Every link ip shows, and no other.
    let ip_names: Vec<String> = ns
        .ip_json("link show")
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["ifname"].as_str().unwrap().to_owned())
        .collect();
    let names: Vec<String> = state.links.iter().map(|l| l.name.clone()).collect();
    assert_eq!(names, ip_names);
}
