//! k3s flags for one node, derived from the same profile that configures its
//! network, so that `--node-ip` and `--flannel-iface` can never disagree with
//! the addresses and links n3xnet puts on the node.
//!
//! The four network flags follow n3x's `mkExtraFlags` byte for byte: every
//! node gets `--node-ip=<cluster IP> --flannel-iface=<cluster interface>`,
//! servers add `--advertise-address=<cluster IP> --tls-san=<serverApi host>`.
//! The `env` and `config` formats add what a Debian unit or a k3s config
//! drop-in needs to form the cluster, always *after* those four flags:
//! `--cluster-init` on the primary server (the node whose cluster IP is
//! serverApi's host), `--server <serverApi>` on the other servers, and
//! `K3S_URL` / `server:` on agents.
//!
//! A dual-stack cluster (`clusterCidr`/`serviceCidr` pairs) adds k3s's
//! dual-stack settings after those four, and IPv4 CIDRs other than k3s's
//! defaults add `--cluster-cidr`/`--service-cidr` on servers; an IPv4
//! cluster on the defaults (every n3x profile) gets n3x's output, unchanged
//! (see `settings`).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::Ipv4Net;

use crate::desired::DesiredNetwork;
use crate::kinds::{Network, Role};
use crate::profile::validate::server_api_host;
use crate::profile::{resolve, Diagnostic, Profile};

/// Output shape of [`flags`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagFormat {
    /// The flags on one line, as n3x passes them in `extraFlags`.
    Args,
    /// `/etc/default/k3s-server` or `/etc/default/k3s-agent`, read by the
    /// Debian units as a systemd `EnvironmentFile` (`$K3S_*_OPTS` is split
    /// on whitespace by systemd).
    Env,
    /// A `/etc/rancher/k3s/config.yaml.d/` drop-in.
    Config,
}

impl FlagFormat {
    pub const ALL: [FlagFormat; 3] = [FlagFormat::Args, FlagFormat::Env, FlagFormat::Config];

    pub fn as_str(self) -> &'static str {
        match self {
            FlagFormat::Args => "args",
            FlagFormat::Env => "env",
            FlagFormat::Config => "config",
        }
    }
}

impl fmt::Display for FlagFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FlagFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        FlagFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown k3s flags format {s:?}: expected args, env or config"))
    }
}

fn role_str(role: Role) -> &'static str {
    match role {
        Role::Server => "server",
        Role::Agent => "agent",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum K3sError {
    #[error("serverApi {url:?} is not usable: expected {expected}")]
    ServerApi { url: String, expected: &'static str },
    #[error("cannot resolve node {node:?}: {}", list(.diagnostics))]
    Resolve {
        node: String,
        diagnostics: Vec<Diagnostic>,
    },
    #[error("node {node:?} is a{} in the profile (nodes.{node}.role) but was asked for as a{}", article(*.profile), article(*.asked))]
    RoleMismatch {
        node: String,
        profile: Role,
        asked: Role,
    },
    #[error(
        "no node's cluster IP is serverApi's host {host:?} ({url}), so no server can be told to \
         run --cluster-init and the others whom to join; set serverApi to the first server's \
         cluster IP"
    )]
    NoPrimary { host: String, url: String },
    #[error(
        "node {node:?} has no cluster IPv6 address (ipAddresses.{node}.cluster) but clusterCidr \
         is dual-stack: k3s needs a --node-ip of each family"
    )]
    NoIpv6 { node: String },
}

fn list(d: &[Diagnostic]) -> String {
    d.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("; ")
}

fn article(role: Role) -> &'static str {
    match role {
        Role::Server => " server",
        Role::Agent => "n agent",
    }
}

/// The k3s flags of `node` acting as `role`, rendered as `format`. Every
/// format ends with a newline, so the result can be printed as is.
pub fn flags(
    profile: &Profile,
    node: &str,
    role: Role,
    format: FlagFormat,
) -> Result<String, K3sError> {
    let desired = resolve_node(profile, node)?;
    if let Some(written) = desired.role.filter(|r| *r != role) {
        return Err(K3sError::RoleMismatch {
            node: node.to_string(),
            profile: written,
            asked: role,
        });
    }
    let api = ServerApi::parse(&profile.server_api)?;
    let settings = settings(profile, &desired, role, api.host)?;
    let extra: Vec<String> = settings.iter().flat_map(Setting::args).collect();
    tracing::debug!(node, role = role_str(role), %format, ?extra, "k3s flags");
    Ok(match format {
        FlagFormat::Args => format!("{}\n", extra.join(" ")),
        FlagFormat::Env => env_file(node, role, &extra, &join(profile, &desired, role, &api)?),
        FlagFormat::Config => {
            config_file(node, role, &settings, &join(profile, &desired, role, &api)?)
        }
    })
}

/// One k3s setting: a flag in `args` and `env`, a key in `config`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Setting {
    key: &'static str,
    value: Value,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    /// `--key=v`, `key: "v"`.
    One(String),
    /// `--key=v` per item, a YAML list.
    List(Vec<String>),
    /// A boolean flag: `--key`, `key: true`.
    On,
}

impl Setting {
    fn one(key: &'static str, value: impl ToString) -> Setting {
        Setting {
            key,
            value: Value::One(value.to_string()),
        }
    }

    fn args(&self) -> Vec<String> {
        match &self.value {
            Value::One(v) => vec![format!("--{}={v}", self.key)],
            Value::List(vs) => vs.iter().map(|v| format!("--{}={v}", self.key)).collect(),
            Value::On => vec![format!("--{}", self.key)],
        }
    }

    fn yaml(&self) -> String {
        match &self.value {
            Value::One(v) => format!("{}: {}\n", self.key, yaml_str(v)),
            Value::List(vs) => {
                let items: String = vs
                    .iter()
                    .map(|v| format!("  - {}\n", yaml_str(v)))
                    .collect();
                format!("{}:\n{items}", self.key)
            }
            Value::On => format!("{}: true\n", self.key),
        }
    }
}

/// The network settings of one node, in n3x's `mkExtraFlags` order:
/// `--node-ip`, `--flannel-iface`, and on servers `--advertise-address`
/// and `--tls-san` (serverApi's host, which n3x writes as server-1's
/// cluster IP). An IPv4 cluster on k3s's default CIDRs (every n3x profile)
/// stops there, byte for byte as n3x; one on other CIDRs adds
/// `--cluster-cidr` / `--service-cidr` on servers, the one that differs,
/// or k3s would run its pods and services on its defaults while the
/// profile, validated against the nodes' networks, says otherwise.
///
/// A dual-stack cluster (`clusterCidr` a pair) follows k3s's dual-stack
/// documentation: every node's `--node-ip` is `<v4>,<v6>` (k3s does not
/// detect the second family), servers add `--cluster-cidr` and
/// `--service-cidr` (k3s's defaults are IPv4 only) and
/// `--flannel-ipv6-masq`, so pods leave the node over IPv6 masqueraded as
/// they do over IPv4 (a flannel option: servers only, the same on all).
/// `--advertise-address` stays IPv4, the primary family; `--flannel-iface`
/// stays, as flannel takes both families' addresses from that link.
fn settings(
    profile: &Profile,
    desired: &DesiredNetwork,
    role: Role,
    tls_san: &str,
) -> Result<Vec<Setting>, K3sError> {
    let node_ip6 = dual_stack_ip(profile, desired)?;
    let node_ip = match node_ip6 {
        Some(v6) => format!("{},{v6}", desired.cluster_ip),
        None => desired.cluster_ip.to_string(),
    };
    let mut out = vec![
        Setting::one("node-ip", node_ip),
        Setting::one("flannel-iface", &desired.cluster_interface),
    ];
    if role == Role::Server {
        out.push(Setting::one("advertise-address", desired.cluster_ip));
        out.push(Setting {
            key: "tls-san",
            value: Value::List(vec![tls_san.to_string()]),
        });
        let dual = node_ip6.is_some();
        if dual || profile.cluster_cidr.v4 != K3S_CLUSTER_CIDR {
            out.push(Setting::one("cluster-cidr", profile.cluster_cidr));
        }
        if dual || profile.service_cidr.v4 != K3S_SERVICE_CIDR {
            out.push(Setting::one("service-cidr", profile.service_cidr));
        }
        if dual {
            out.push(Setting {
                key: "flannel-ipv6-masq",
                value: Value::On,
            });
        }
    }
    Ok(out)
}

/// k3s's `--cluster-cidr` and `--service-cidr` defaults (IPv4 clusters).
const K3S_CLUSTER_CIDR: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(10, 42, 0, 0), 16);
const K3S_SERVICE_CIDR: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(10, 43, 0, 0), 16);

/// The node's cluster IPv6 address when the cluster is dual-stack; a
/// validated profile has one on every node.
fn dual_stack_ip(
    profile: &Profile,
    desired: &DesiredNetwork,
) -> Result<Option<Ipv6Addr>, K3sError> {
    if profile.cluster_cidr.v6.is_none() {
        return Ok(None);
    }
    profile
        .ip_addresses
        .get(&desired.node)
        .and_then(|m| m.get(&Network::Cluster)?.v6)
        .map(|a| Some(a.addr()))
        .ok_or_else(|| K3sError::NoIpv6 {
            node: desired.node.clone(),
        })
}

fn resolve_node(profile: &Profile, node: &str) -> Result<DesiredNetwork, K3sError> {
    resolve(profile, node).map_err(|diagnostics| K3sError::Resolve {
        node: node.to_string(),
        diagnostics,
    })
}

/// `serverApi` split into the URL k3s joins and its host.
struct ServerApi<'a> {
    url: &'a str,
    host: &'a str,
}

impl<'a> ServerApi<'a> {
    fn parse(url: &'a str) -> Result<Self, K3sError> {
        let host = server_api_host(url).map_err(|expected| K3sError::ServerApi {
            url: url.to_string(),
            expected,
        })?;
        Ok(ServerApi { url, host })
    }
}

/// How a node comes into the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Join {
    /// The primary server starts embedded etcd.
    ClusterInit,
    /// Other servers and all agents join the API at this URL.
    Url(String),
}

/// Servers need to know whether they are the primary; that is only known if
/// some node of the profile owns serverApi's host as its cluster IP.
fn join(
    profile: &Profile,
    desired: &DesiredNetwork,
    role: Role,
    api: &ServerApi<'_>,
) -> Result<Join, K3sError> {
    let url = Join::Url(api.url.to_string());
    if role == Role::Agent {
        return Ok(url);
    }
    let no_primary = || K3sError::NoPrimary {
        host: api.host.to_string(),
        url: api.url.to_string(),
    };
    let host: Ipv4Addr = api.host.parse().map_err(|_| no_primary())?;
    if desired.cluster_ip == host {
        return Ok(Join::ClusterInit);
    }
    for other in profile.node_names().iter().filter(|n| **n != desired.node) {
        if resolve_node(profile, other)?.cluster_ip == host {
            return Ok(url);
        }
    }
    Err(no_primary())
}

fn header(node: &str, role: Role, target: &str) -> String {
    format!(
        "# Generated by n3xnet (n3xnetctl k3s-flags) for node {node} ({}): install as {target}.\n",
        role_str(role)
    )
}

/// The Debian `/etc/default/k3s-*` file.
fn env_file(node: &str, role: Role, extra: &[String], join: &Join) -> String {
    let mut opts = extra.to_vec();
    let mut out = header(node, role, &format!("/etc/default/k3s-{}", role_str(role)));
    match join {
        Join::ClusterInit => opts.push("--cluster-init".into()),
        Join::Url(url) if role == Role::Server => opts.push(format!("--server {url}")),
        Join::Url(url) => out.push_str(&format!("K3S_URL={}\n", env_quote(url))),
    }
    let var = match role {
        Role::Server => "K3S_SERVER_OPTS",
        Role::Agent => "K3S_AGENT_OPTS",
    };
    out.push_str(&format!("{var}={}\n", env_quote(&opts.join(" "))));
    out
}

/// A double-quoted value that systemd's `EnvironmentFile=` and a POSIX shell
/// (which may source `/etc/default` files) both read back unchanged: the
/// characters special inside double quotes for both are backslash-escaped.
fn env_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A YAML double-quoted scalar: a JSON string literal is one.
fn yaml_str(value: &str) -> String {
    serde_json::Value::String(value.to_string()).to_string()
}

/// The k3s `config.yaml.d` drop-in: the same settings as keys.
fn config_file(node: &str, role: Role, settings: &[Setting], join: &Join) -> String {
    let mut out = header(node, role, "/etc/rancher/k3s/config.yaml.d/50-n3xnet.yaml");
    for s in settings {
        out.push_str(&s.yaml());
    }
    match join {
        Join::ClusterInit => out.push_str("cluster-init: true\n"),
        Join::Url(url) => out.push_str(&format!("server: {}\n", yaml_str(url))),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Network;
    use crate::profile::model::{Interfaces, NetAddrs, NodeOverride};
    use ipnet::Ipv4Net;
    use std::collections::BTreeMap;

    /// n3x's `vlans` profile: trunk eth1, cluster eth1.200, storage eth1.100.
    fn vlans() -> Profile {
        let mut ip_addresses = BTreeMap::new();
        for (i, node) in ["server-1", "server-2", "agent-1", "agent-2"]
            .iter()
            .enumerate()
        {
            let n = i as u8 + 1;
            let mut a = BTreeMap::new();
            let v4 = |third| NetAddrs {
                v4: Some(Ipv4Net::new(Ipv4Addr::new(192, 168, third, n), 24).unwrap()),
                v6: None,
            };
            a.insert(Network::Cluster, v4(200));
            a.insert(Network::Storage, v4(100));
            ip_addresses.insert(node.to_string(), a);
        }
        Profile {
            ip_addresses,
            interfaces: Interfaces {
                cluster: Some("eth1.200".into()),
                storage: Some("eth1.100".into()),
                trunk: Some("eth1".into()),
                bond_members: None,
            },
            vlan_ids: [(Network::Cluster, 200), (Network::Storage, 100)].into(),
            server_api: "https://192.168.200.1:6443".into(),
            cluster_cidr: "10.42.0.0/16".parse().unwrap(),
            service_cidr: "10.43.0.0/16".parse().unwrap(),
            ..Profile::default()
        }
    }

    fn get(p: &Profile, node: &str, role: Role, f: FlagFormat) -> String {
        flags(p, node, role, f).unwrap()
    }

    #[test]
    fn args_match_n3x_mk_extra_flags() {
        let p = vlans();
        assert_eq!(
            get(&p, "server-2", Role::Server, FlagFormat::Args),
            "--node-ip=192.168.200.2 --flannel-iface=eth1.200 --advertise-address=192.168.200.2 --tls-san=192.168.200.1\n"
        );
        assert_eq!(
            get(&p, "agent-1", Role::Agent, FlagFormat::Args),
            "--node-ip=192.168.200.3 --flannel-iface=eth1.200\n"
        );
        assert_eq!(
            get(&p, "server-1", Role::Server, FlagFormat::Args),
            "--node-ip=192.168.200.1 --flannel-iface=eth1.200 --advertise-address=192.168.200.1 --tls-san=192.168.200.1\n"
        );
    }

    #[test]
    fn env_adds_cluster_init_on_primary_and_server_elsewhere() {
        let p = vlans();
        let s1 = get(&p, "server-1", Role::Server, FlagFormat::Env);
        assert!(s1.ends_with(
            "K3S_SERVER_OPTS=\"--node-ip=192.168.200.1 --flannel-iface=eth1.200 --advertise-address=192.168.200.1 --tls-san=192.168.200.1 --cluster-init\"\n"
        ), "{s1}");
        let s2 = get(&p, "server-2", Role::Server, FlagFormat::Env);
        assert!(s2.ends_with(
            "K3S_SERVER_OPTS=\"--node-ip=192.168.200.2 --flannel-iface=eth1.200 --advertise-address=192.168.200.2 --tls-san=192.168.200.1 --server https://192.168.200.1:6443\"\n"
        ), "{s2}");
        let a1 = get(&p, "agent-1", Role::Agent, FlagFormat::Env);
        assert!(a1.ends_with(
            "K3S_URL=\"https://192.168.200.1:6443\"\nK3S_AGENT_OPTS=\"--node-ip=192.168.200.3 --flannel-iface=eth1.200\"\n"
        ), "{a1}");
        assert!(a1.starts_with("# ") && a1.contains("/etc/default/k3s-agent"));
    }

    #[test]
    fn config_is_a_drop_in_with_tls_san_list() {
        let p = vlans();
        let s2 = get(&p, "server-2", Role::Server, FlagFormat::Config);
        let body: Vec<&str> = s2.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            body,
            [
                "node-ip: \"192.168.200.2\"",
                "flannel-iface: \"eth1.200\"",
                "advertise-address: \"192.168.200.2\"",
                "tls-san:",
                "  - \"192.168.200.1\"",
                "server: \"https://192.168.200.1:6443\"",
            ]
        );
        let s1 = get(&p, "server-1", Role::Server, FlagFormat::Config);
        assert!(s1.ends_with("cluster-init: true\n"), "{s1}");
        let a2 = get(&p, "agent-2", Role::Agent, FlagFormat::Config);
        let body: Vec<&str> = a2.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            body,
            [
                "node-ip: \"192.168.200.4\"",
                "flannel-iface: \"eth1.200\"",
                "server: \"https://192.168.200.1:6443\""
            ]
        );
    }

    #[test]
    fn servers_need_a_primary_for_env_and_config_only() {
        let mut p = vlans();
        p.server_api = "https://192.168.200.99:6443".into();
        let args = get(&p, "server-2", Role::Server, FlagFormat::Args);
        assert!(args.ends_with("--tls-san=192.168.200.99\n"), "{args}");
        for f in [FlagFormat::Env, FlagFormat::Config] {
            let e = flags(&p, "server-2", Role::Server, f).unwrap_err();
            assert!(
                matches!(e, K3sError::NoPrimary { ref host, .. } if host == "192.168.200.99"),
                "{e}"
            );
            assert!(e.to_string().contains("--cluster-init"), "{e}");
        }
        // Agents only need the URL.
        assert!(get(&p, "agent-1", Role::Agent, FlagFormat::Env)
            .contains("K3S_URL=\"https://192.168.200.99:6443\""));
        // A host name can be a tls-san but names no node.
        p.server_api = "https://k3s.example:6443".into();
        assert!(get(&p, "server-1", Role::Server, FlagFormat::Args)
            .ends_with("--tls-san=k3s.example\n"));
        assert!(matches!(
            flags(&p, "server-1", Role::Server, FlagFormat::Env),
            Err(K3sError::NoPrimary { .. })
        ));
    }

    #[test]
    fn bad_server_api_and_unknown_node_are_errors() {
        let mut p = vlans();
        p.server_api = "192.168.200.1:6443".into();
        let e = flags(&p, "server-1", Role::Server, FlagFormat::Args).unwrap_err();
        assert!(matches!(e, K3sError::ServerApi { .. }), "{e}");
        assert!(e.to_string().contains("192.168.200.1:6443"), "{e}");
        let p = vlans();
        let e = flags(&p, "nope", Role::Agent, FlagFormat::Args).unwrap_err();
        assert!(
            matches!(e, K3sError::Resolve { ref node, .. } if node == "nope"),
            "{e}"
        );
    }

    #[test]
    fn role_written_in_profile_must_agree() {
        let mut p = vlans();
        p.nodes.insert(
            "agent-1".into(),
            NodeOverride {
                role: Some(Role::Agent),
                ..NodeOverride::default()
            },
        );
        let e = flags(&p, "agent-1", Role::Server, FlagFormat::Args).unwrap_err();
        assert_eq!(
            e.to_string(),
            "node \"agent-1\" is an agent in the profile (nodes.agent-1.role) but was asked for as a server"
        );
        assert!(flags(&p, "agent-1", Role::Agent, FlagFormat::Args).is_ok());
    }

    /// `vlans` made dual-stack: an IPv6 cluster address on every node and
    /// both CIDRs pairs.
    fn dual_stack() -> Profile {
        let mut p = vlans();
        for addrs in p.ip_addresses.values_mut() {
            let a = addrs.get_mut(&Network::Cluster).unwrap();
            let host = a.v4.unwrap().addr().octets()[3];
            a.v6 = Some(format!("fd00:200::{host}/64").parse().unwrap());
        }
        p.cluster_cidr = "10.42.0.0/16,fd00:42::/56".parse().unwrap();
        p.service_cidr = "10.43.0.0/16,fd00:43::/112".parse().unwrap();
        p
    }

    #[test]
    fn dual_stack_args_give_both_families_and_servers_the_cidrs() {
        let p = dual_stack();
        assert_eq!(
            get(&p, "server-2", Role::Server, FlagFormat::Args),
            "--node-ip=192.168.200.2,fd00:200::2 --flannel-iface=eth1.200 --advertise-address=192.168.200.2 --tls-san=192.168.200.1 --cluster-cidr=10.42.0.0/16,fd00:42::/56 --service-cidr=10.43.0.0/16,fd00:43::/112 --flannel-ipv6-masq\n"
        );
        assert_eq!(
            get(&p, "agent-1", Role::Agent, FlagFormat::Args),
            "--node-ip=192.168.200.3,fd00:200::3 --flannel-iface=eth1.200\n"
        );
        let s1 = get(&p, "server-1", Role::Server, FlagFormat::Env);
        assert!(
            s1.ends_with(
                "--service-cidr=10.43.0.0/16,fd00:43::/112 --flannel-ipv6-masq --cluster-init\"\n"
            ),
            "{s1}"
        );
        let a2 = get(&p, "agent-2", Role::Agent, FlagFormat::Env);
        assert!(
            a2.ends_with(
                "K3S_AGENT_OPTS=\"--node-ip=192.168.200.4,fd00:200::4 --flannel-iface=eth1.200\"\n"
            ),
            "{a2}"
        );
    }

    #[test]
    fn dual_stack_config_has_the_same_settings_as_keys() {
        let p = dual_stack();
        let body = |node, role| -> Vec<String> {
            get(&p, node, role, FlagFormat::Config)
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(
            body("server-2", Role::Server),
            [
                "node-ip: \"192.168.200.2,fd00:200::2\"",
                "flannel-iface: \"eth1.200\"",
                "advertise-address: \"192.168.200.2\"",
                "tls-san:",
                "  - \"192.168.200.1\"",
                "cluster-cidr: \"10.42.0.0/16,fd00:42::/56\"",
                "service-cidr: \"10.43.0.0/16,fd00:43::/112\"",
                "flannel-ipv6-masq: true",
                "server: \"https://192.168.200.1:6443\"",
            ]
        );
        assert_eq!(
            body("agent-1", Role::Agent),
            [
                "node-ip: \"192.168.200.3,fd00:200::3\"",
                "flannel-iface: \"eth1.200\"",
                "server: \"https://192.168.200.1:6443\"",
            ]
        );
    }

    #[test]
    fn ipv6_addresses_alone_keep_the_ipv4_flags_and_dual_cidrs_need_them() {
        // IPv6 on the hosts, IPv4 CIDRs: a single-stack cluster, n3x's flags.
        let mut p = dual_stack();
        p.cluster_cidr = "10.42.0.0/16".parse().unwrap();
        p.service_cidr = "10.43.0.0/16".parse().unwrap();
        assert_eq!(
            get(&p, "server-2", Role::Server, FlagFormat::Args),
            get(&vlans(), "server-2", Role::Server, FlagFormat::Args)
        );
        // A profile that skipped validation: no IPv6 --node-ip to give.
        let mut p = vlans();
        p.cluster_cidr = "10.42.0.0/16,fd00:42::/56".parse().unwrap();
        let e = flags(&p, "agent-1", Role::Agent, FlagFormat::Args).unwrap_err();
        assert!(
            matches!(e, K3sError::NoIpv6 { ref node } if node == "agent-1"),
            "{e}"
        );
    }

    #[test]
    fn ipv4_cidrs_other_than_k3s_defaults_reach_the_servers() {
        let mut p = vlans();
        p.service_cidr = "10.96.0.0/12".parse().unwrap();
        assert_eq!(
            get(&p, "server-2", Role::Server, FlagFormat::Args),
            "--node-ip=192.168.200.2 --flannel-iface=eth1.200 --advertise-address=192.168.200.2 --tls-san=192.168.200.1 --service-cidr=10.96.0.0/12\n"
        );
        p.cluster_cidr = "10.50.0.0/16".parse().unwrap();
        assert!(get(&p, "server-1", Role::Server, FlagFormat::Config)
            .contains("cluster-cidr: \"10.50.0.0/16\"\nservice-cidr: \"10.96.0.0/12\"\n"));
        // Agents take the CIDRs from the servers; k3s has no such agent flags.
        assert_eq!(
            get(&p, "agent-1", Role::Agent, FlagFormat::Args),
            "--node-ip=192.168.200.3 --flannel-iface=eth1.200\n"
        );
    }

    #[test]
    fn env_values_survive_systemd_and_shell_quoting() {
        assert_eq!(env_quote("a b"), "\"a b\"");
        assert_eq!(env_quote(r#"x"$`\y"#), r#""x\"\$\`\\y""#);
    }

    #[test]
    fn format_names_round_trip() {
        for f in FlagFormat::ALL {
            assert_eq!(f.as_str().parse::<FlagFormat>(), Ok(f));
        }
        assert!("yaml"
            .parse::<FlagFormat>()
            .unwrap_err()
            .contains("args, env or config"));
    }
}
