//! Many applies in one process leave no file descriptors behind (sockets of
//! dropped handles and verify subscriptions, sysctl files). Alone in its
//! binary so no other test's descriptors blur the count.

mod netns_util;

use n3xnet::desired::{DesiredAddress, DesiredLink, DesiredNetwork, LinkKind};
use n3xnet::engine::{self, ApplyOptions, Outcome};
use n3xnet::kinds::{MacvlanMode, Mode, Network};
use n3xnet::netlink::Handle;
use netns_util::{netns_tier, Netns};

fn desired(mode: MacvlanMode) -> DesiredNetwork {
    let link = |name: &str, kind, network| DesiredLink {
        name: name.into(),
        kind,
        mtu: None,
        master: None,
        dhcp: false,
        network,
        multus: None,
    };
    DesiredNetwork {
        node: "server-1".into(),
        role: None,
        mode: Mode::Static,
        cluster_interface: "eth1".into(),
        cluster_ip: "192.168.1.1".parse().unwrap(),
        links: vec![
            link("eth1", LinkKind::Ethernet, Some(Network::Cluster)),
            link(
                "mv-pods",
                LinkKind::Macvlan {
                    parent: "eth1".into(),
                    mode,
                },
                None,
            ),
        ],
        addresses: vec![DesiredAddress {
            link: "eth1".into(),
            address: "192.168.1.1/24".parse().unwrap(),
        }],
        routes: vec![],
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn descriptors_stay_flat_over_many_applies() {
    if !netns_tier() {
        return;
    }
    let ns = Netns::new();
    let sw = Netns::new();
    ns.nic("eth1", &sw, "sw-eth1");
    let rt = netns_util::runtime();
    let cycle = |i: usize| {
        rt.block_on(async {
            let h = Handle::open(Some(&ns.name)).unwrap();
            let mode = if i.is_multiple_of(2) {
                MacvlanMode::Bridge
            } else {
                MacvlanMode::Private
            };
            let lock = engine::lock::acquire(h.netns(), None).await.unwrap();
            let r = engine::apply(&h, &desired(mode), &ApplyOptions::default(), &lock)
                .await
                .unwrap();
            assert_eq!(r.outcome, Outcome::Applied);
            let again = engine::apply(&h, &desired(mode), &ApplyOptions::default(), &lock)
                .await
                .unwrap();
            assert_eq!(again.outcome, Outcome::InSync);
        });
        // Let aborted connection tasks be dropped.
        rt.block_on(tokio::task::yield_now());
    };
    cycle(0);
    let before = open_fds();
    for i in 1..=40 {
        cycle(i);
    }
    assert_eq!(
        open_fds(),
        before,
        "descriptors leaked over 40 apply cycles"
    );
}
