//! Reachability checks that keep a confirmed change
//! (`--confirm-when reachable[=HOST:PORT]`): what to check, chosen from
//! the profile (pure, unit-tested), and one round of checks from the
//! node's namespace, each bounded in time.
//!
//! By default a change is kept once, from the node:
//! - a TCP connect to the cluster's API server succeeds: `serverApi`'s
//!   host and port; on a server whose own cluster address is that host
//!   (it would only reach itself), the first other server of the profile
//!   (by name) at the same port instead; with no other server, no TCP
//!   target;
//! - and the profile's default gateway answers ARP on its link (the L2
//!   path out of the node).
//!
//! `reachable=HOST:PORT` names the one TCP target instead (an IPv4
//! address: the check must not depend on DNS, which the change may break).

use std::fmt;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::pin::Pin;
use std::time::Duration;

use crate::desired::DesiredNetwork;
use crate::dhcp::arp;
use crate::dhcp::socket::{self, PacketSocket, Protocol};
use crate::kinds::{Network, Role};
use crate::netlink::Handle;
use crate::profile::validate::{server_api_host, server_api_port};
use crate::profile::Profile;

/// How long one target may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(1);
/// The waits between rounds of checks: short first (a change is often
/// reachable as soon as it is applied), then at most this long.
const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// Something that must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Tcp(SocketAddrV4),
    /// A neighbour answering ARP on a link.
    Arp {
        ip: Ipv4Addr,
        link: String,
    },
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Tcp(a) => write!(f, "{a}"),
            Target::Arp { ip, link } => write!(f, "arp:{ip}@{link}"),
        }
    }
}

/// Reads a target back as [`Target`]'s `Display` wrote it (the change
/// journal keeps targets as text, for `status`).
impl std::str::FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Target, String> {
        let bad = || format!("found target {s:?}, expected HOST:PORT or arp:ADDRESS@LINK");
        match s.strip_prefix("arp:") {
            Some(rest) => {
                let (ip, link) = rest.split_once('@').ok_or_else(bad)?;
                Ok(Target::Arp {
                    ip: ip.parse().map_err(|_| bad())?,
                    link: link.to_owned(),
                })
            }
            None => s.parse().map(Target::Tcp).map_err(|_| bad()),
        }
    }
}

/// The default targets of `desired` (node `desired.node` of `profile`).
pub fn default_targets(profile: &Profile, desired: &DesiredNetwork) -> Vec<Target> {
    let port = server_api_port(&profile.server_api);
    let api = server_api_host(&profile.server_api)
        .ok()
        .and_then(|h| h.parse::<Ipv4Addr>().ok());
    let tcp = match api {
        Some(host) if host == desired.cluster_ip => profile
            .nodes
            .iter()
            .filter(|(name, o)| **name != desired.node && o.role == Some(Role::Server))
            .find_map(|(name, _)| profile.ip_addresses.get(name)?.get(&Network::Cluster)?.v4)
            .map(|peer| peer.addr()),
        other => other,
    };
    let gateway = desired
        .routes
        .iter()
        .filter(|r| r.destination.prefix_len() == 0)
        .find_map(|r| match r.gateway? {
            // ARP: the IPv4 gateway (IPv6 neighbour solicitation is not a
            // check yet).
            IpAddr::V4(ip) => Some(Target::Arp {
                ip,
                link: r.link.clone(),
            }),
            IpAddr::V6(_) => None,
        });
    tcp.map(|h| Target::Tcp(SocketAddrV4::new(h, port)))
        .into_iter()
        .chain(gateway)
        .collect()
}

/// The targets of `reachable=HOST:PORT` (`explicit`), else the defaults;
/// an error says why there is nothing to check.
pub fn targets(defaults: &[Target], explicit: Option<&str>) -> Result<Vec<Target>, String> {
    let targets = match explicit {
        Some(t) => vec![Target::Tcp(t.parse().map_err(|_| {
            format!(
                "reachable: found {t:?}, expected an IPv4 address and port like 192.168.1.2:6443"
            )
        })?)],
        None => defaults.to_vec(),
    };
    if targets.is_empty() {
        return Err(
            "reachable: the profile names nothing to check (no API server but this node, \
                    no gateway): name one with reachable=HOST:PORT"
                .to_owned(),
        );
    }
    Ok(targets)
}

/// The wait before the round after `failed` failed rounds.
pub fn retry_after(failed: u32) -> Duration {
    RETRY_FIRST
        .saturating_mul(1 << failed.min(8))
        .min(RETRY_MAX)
}

/// One round of checks under way: `Ok` once every target answered, else
/// the first that did not.
pub type Round = Pin<Box<dyn Future<Output = Result<(), String>>>>;

/// Resolves when the round of reachability checks under way ends; never
/// while none is.
pub async fn checked(round: &mut Option<Round>) -> Result<(), String> {
    let Some(r) = round.as_mut() else {
        return std::future::pending().await;
    };
    let result = r.await;
    *round = None;
    result
}

/// Starts a round: the sockets are opened now, in the handle's
/// namespace (a socket stays in the namespace it was made in); the round
/// then waits for the answers, each at most [`TIMEOUT`].
pub async fn round(handle: &Handle, targets: &[Target]) -> Round {
    let mut checks: Vec<Round> = Vec::new();
    for t in targets {
        let name = t.to_string();
        let check = match open(handle, t).await {
            Ok(check) => check,
            Err(e) => Box::pin(std::future::ready(Err(e))),
        };
        checks.push(Box::pin(async move {
            match tokio::time::timeout(TIMEOUT, check).await {
                Ok(r) => r.map_err(|e| format!("{name}: {e}")),
                Err(_) => Err(format!("{name}: no answer in {} s", TIMEOUT.as_secs())),
            }
        }));
    }
    Box::pin(async move {
        for check in checks {
            check.await?;
        }
        Ok(())
    })
}

/// The socket of one check, and the wait for its answer.
async fn open(handle: &Handle, target: &Target) -> Result<Round, String> {
    match target {
        Target::Tcp(addr) => {
            let socket = handle
                .in_netns(tokio::net::TcpSocket::new_v4)
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            let addr = SocketAddr::V4(*addr);
            Ok(Box::pin(async move {
                socket
                    .connect(addr)
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }))
        }
        Target::Arp { ip, link } => {
            let state = handle.dump().await.map_err(|e| e.to_string())?;
            let l = state.link(link).ok_or_else(|| format!("no link {link}"))?;
            let mac = l.mac.ok_or_else(|| format!("{link} has no MAC address"))?.0;
            let index = l.index;
            let fd = handle
                .in_netns(|| socket::open(index, Protocol::Arp))
                .map_err(|e| e.to_string())?
                .map_err(|e| e.to_string())?;
            let socket =
                PacketSocket::register(fd, index, Protocol::Arp).map_err(|e| e.to_string())?;
            socket
                .send(&arp::probe(mac, *ip), None)
                .map_err(|e| e.to_string())?;
            let ip = *ip;
            Ok(Box::pin(async move {
                let mut buf = [0u8; 64];
                loop {
                    let (n, _) = socket.recv(&mut buf).await.map_err(|e| e.to_string())?;
                    if arp::holder(&buf[..n], mac, ip).is_some() {
                        return Ok(());
                    }
                }
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../profiles/demo.toml");

    fn defaults(text: &str, node: &str) -> Vec<String> {
        let p = crate::profile::parse(text, crate::profile::Format::Toml).unwrap();
        let d = crate::profile::resolve(&p, node).unwrap();
        default_targets(&p, &d)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn an_agent_checks_the_api_server_and_the_gateway() {
        assert_eq!(
            defaults(DEMO, "agent-1"),
            ["192.168.1.1:6443", "arp:192.168.1.254@eth1"]
        );
    }

    #[test]
    fn the_api_server_itself_checks_a_peer_server_or_only_the_gateway() {
        assert_eq!(defaults(DEMO, "server-1"), ["arp:192.168.1.254@eth1"]);
        let two = DEMO
            .replace(
                "agent-1 = { cluster = \"192.168.1.3\" }",
                "agent-1 = { cluster = \"192.168.1.3\" }\nserver-2 = { cluster = \"192.168.1.2\" }",
            )
            .replace(
                "[nodes.agent-1]",
                "[nodes.server-2]\nrole = \"server\"\n\n[nodes.agent-1]",
            )
            .replace("https://192.168.1.1:6443", "https://192.168.1.1:7443/");
        assert_eq!(
            defaults(&two, "server-1"),
            ["192.168.1.2:7443", "arp:192.168.1.254@eth1"]
        );
    }

    /// bonding-vlans names no roles: its server-1 (serverApi's host) has no
    /// peer server to check until server-2 is declared one (the VM
    /// scenario systemd-confirm does), and no gateway.
    #[test]
    fn bonding_vlans_server_1_checks_server_2_once_it_is_a_server() {
        let bv = include_str!("../../profiles/bonding-vlans.toml");
        assert_eq!(defaults(bv, "server-1"), Vec::<String>::new());
        let servers = format!(
            "{bv}\n[nodes.server-1]\nrole = \"server\"\n\n[nodes.server-2]\nrole = \"server\"\n"
        );
        assert_eq!(defaults(&servers, "server-1"), ["192.168.200.2:6443"]);
        assert_eq!(defaults(&servers, "server-2"), ["192.168.200.1:6443"]);
    }

    #[test]
    fn an_explicit_target_replaces_the_defaults_and_nothing_to_check_is_an_error() {
        let d = [Target::Tcp("10.0.0.1:6443".parse().unwrap())];
        assert_eq!(
            targets(&d, Some("192.168.1.2:80")).unwrap(),
            [Target::Tcp("192.168.1.2:80".parse().unwrap())]
        );
        let e = targets(&d, Some("k3s.example:6443")).unwrap_err();
        assert!(e.contains("expected an IPv4 address and port"), "{e}");
        assert!(targets(&[], None)
            .unwrap_err()
            .contains("reachable=HOST:PORT"));
        assert_eq!(targets(&d, None).unwrap(), d);
    }

    #[test]
    fn a_target_reads_back_as_it_is_written() {
        for t in [
            Target::Tcp("10.0.0.1:6443".parse().unwrap()),
            Target::Arp {
                ip: "192.168.1.254".parse().unwrap(),
                link: "eth1".into(),
            },
        ] {
            assert_eq!(t.to_string().parse::<Target>(), Ok(t));
        }
        assert!("arp:10.0.0.1".parse::<Target>().is_err());
    }

    #[test]
    fn rounds_back_off_up_to_a_bound() {
        assert_eq!(retry_after(0), Duration::from_millis(200));
        assert_eq!(retry_after(1), Duration::from_millis(400));
        assert_eq!(retry_after(40), RETRY_MAX);
    }
}
