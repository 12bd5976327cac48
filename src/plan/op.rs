//! The operations a plan is made of: small, ordered, each one kernel request
//! (or a tight group of them) that the netlink layer executes and can undo.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::desired::{BondOptions, DesiredRoute, LinkKind};
use crate::kinds::{AdSelect, BondMode, LacpRate, MacvlanMode, PrimaryReselect, XmitHashPolicy};
use crate::mac::MacAddr;
use crate::state::{Address, Route};

/// One bond option change, applied with `RTM_NEWLINK` on the existing bond.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "option", content = "value", rename_all = "camelCase")]
pub enum BondChange {
    Mode(BondMode),
    Miimon(u32),
    Updelay(u32),
    Downdelay(u32),
    /// `None` clears the primary.
    Primary(Option<String>),
    PrimaryReselect(PrimaryReselect),
    LacpRate(LacpRate),
    XmitHashPolicy(XmitHashPolicy),
    MinLinks(u32),
    AdSelect(AdSelect),
}

impl BondChange {
    /// Options the kernel refuses to change while the bond is up: those
    /// flagged `BOND_OPTFLAG_IFDOWN` in drivers/net/bonding/bond_options.c
    /// (checked for 6.1 and mainline). `xmit_hash_policy` and `min_links`
    /// carry no flag and change in place, so they never bounce the bond.
    pub fn needs_bond_down(&self) -> bool {
        matches!(
            self,
            BondChange::Mode(_) | BondChange::LacpRate(_) | BondChange::AdSelect(_)
        )
    }

    /// Options the kernel refuses while the bond has ports
    /// (`BOND_OPTFLAG_NOSLAVES`): only the mode among those n3xnet manages.
    pub fn needs_no_ports(&self) -> bool {
        matches!(self, BondChange::Mode(_))
    }

    /// Every option a desired bond manages, in the order the kernel applies
    /// them within one `RTM_NEWLINK` (`bond_changelink`: mode first, so the
    /// mode-specific options that follow are judged against the new mode).
    /// Options that are `None` in `o` are left to the kernel.
    pub fn all_of(o: &BondOptions) -> Vec<BondChange> {
        let mut v = vec![
            BondChange::Mode(o.mode),
            BondChange::Miimon(o.miimon),
            BondChange::Updelay(o.updelay),
            BondChange::Downdelay(o.downdelay),
        ];
        if let Some(p) = &o.primary {
            v.push(BondChange::Primary(Some(p.clone())));
        }
        v.extend(o.primary_reselect.map(BondChange::PrimaryReselect));
        v.extend(o.xmit_hash_policy.map(BondChange::XmitHashPolicy));
        v.push(BondChange::MinLinks(o.min_links));
        v.extend(o.lacp_rate.map(BondChange::LacpRate));
        v.extend(o.ad_select.map(BondChange::AdSelect));
        v
    }

    /// The option's kernel name (as in sysfs and `ip -d link`).
    pub fn name(&self) -> &'static str {
        match self {
            BondChange::Mode(_) => "mode",
            BondChange::Miimon(_) => "miimon",
            BondChange::Updelay(_) => "updelay",
            BondChange::Downdelay(_) => "downdelay",
            BondChange::Primary(_) => "primary",
            BondChange::PrimaryReselect(_) => "primary_reselect",
            BondChange::LacpRate(_) => "lacp_rate",
            BondChange::XmitHashPolicy(_) => "xmit_hash_policy",
            BondChange::MinLinks(_) => "min_links",
            BondChange::AdSelect(_) => "ad_select",
        }
    }

    /// The value as the kernel names it (`none` for no primary).
    pub fn value(&self) -> String {
        match self {
            BondChange::Mode(v) => v.to_string(),
            BondChange::Miimon(v)
            | BondChange::Updelay(v)
            | BondChange::Downdelay(v)
            | BondChange::MinLinks(v) => v.to_string(),
            BondChange::Primary(p) => p.clone().unwrap_or_else(|| "none".into()),
            BondChange::PrimaryReselect(v) => v.to_string(),
            BondChange::LacpRate(v) => v.to_string(),
            BondChange::XmitHashPolicy(v) => v.to_string(),
            BondChange::AdSelect(v) => v.to_string(),
        }
    }
}

impl fmt::Display for BondChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name(), self.value())
    }
}

/// A route to remove, as the kernel holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteKey {
    pub destination: IpNet,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gateway: Option<IpAddr>,
    pub link: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Op {
    /// Create a virtual link, admin-down, in n3xnet's group from birth, then
    /// marked with the ownership alias and IPv6 link-local addressing off
    /// before anything can bring it up. A bond is created with
    /// every option of its kind; its members are enslaved by the `SetMaster`
    /// ops that follow, not by this one.
    CreateLink {
        name: String,
        kind: LinkKind,
        #[serde(skip_serializing_if = "Option::is_none")]
        mtu: Option<u32>,
        /// Deterministic MAC (a bond takes its primary's permanent MAC).
        #[serde(skip_serializing_if = "Option::is_none")]
        mac: Option<MacAddr>,
    },
    /// Delete a link n3xnet owns (never a foreign one).
    DeleteLink {
        name: String,
    },
    SetBondOptions {
        bond: String,
        changes: Vec<BondChange>,
    },
    SetMacvlanMode {
        name: String,
        mode: MacvlanMode,
    },
    SetUp {
        name: String,
    },
    SetDown {
        name: String,
    },
    /// Enslave a port. The kernel refuses an up port (EPERM), so the plan
    /// sets it down first; enslaving opens it again (`bond_enslave` calls
    /// `dev_open`) and the plan's `SetUp` after it states that explicitly.
    SetMaster {
        port: String,
        bond: String,
    },
    /// Release a port from its bond; the kernel closes it (admin down) and
    /// gives it back its own MAC and MTU.
    ReleasePort {
        port: String,
    },
    SetMtu {
        name: String,
        mtu: u32,
    },
    /// Set the link's alias, or remove it (`None`). The plan sets n3xnet's
    /// alias on a half-created link (in n3xnet's group, its marking request
    /// lost to a crash); undo removes it again.
    SetAlias {
        name: String,
        alias: Option<String>,
    },
    /// `addr_gen_mode none` and `accept_ra 0`, and drop existing fe80::/64
    /// (networkd's `LinkLocalAddressing=no`, `IPv6AcceptRA=no`).
    DisableIpv6Auto {
        name: String,
    },
    AddAddress {
        link: String,
        address: IpNet,
    },
    DeleteAddress {
        link: String,
        address: IpNet,
    },
    AddRoute {
        route: DesiredRoute,
    },
    DeleteRoute {
        route: RouteKey,
    },
    /// `addr_gen_mode eui64` and `accept_ra 1` (the kernel's defaults): undoes
    /// `DisableIpv6Auto` on a link that had IPv6 autoconfiguration.
    EnableIpv6Auto {
        name: String,
        /// The link is up when this runs: write the sysctl, which makes the
        /// kernel add the link-local address at once (as it was before).
        /// On a down link the mode is set by netlink instead: the sysctl
        /// would add a link-local the down link never had.
        regenerate: bool,
    },
    /// Re-adds an address exactly as the kernel held it (protocol, lifetimes).
    /// Only undo emits it: deleting a link takes foreign addresses with it,
    /// and rollback must give them back as they were, not marked as ours.
    RestoreAddress {
        address: Address,
    },
    /// Re-adds a route exactly as the kernel held it (protocol, scope), with
    /// `RTNH_F_ONLINK`: the kernel accepted it once, but its gateway may no
    /// longer be inside the link's subnets. Undo only, for routes deleted or
    /// flushed with a link going down or away.
    RestoreRoute {
        route: Route,
    },
}

impl Op {
    /// The link the operation acts on (the port for bond membership).
    pub fn link(&self) -> &str {
        match self {
            Op::CreateLink { name, .. }
            | Op::DeleteLink { name }
            | Op::SetMacvlanMode { name, .. }
            | Op::SetUp { name }
            | Op::SetDown { name }
            | Op::SetMtu { name, .. }
            | Op::SetAlias { name, .. }
            | Op::DisableIpv6Auto { name }
            | Op::EnableIpv6Auto { name, .. } => name,
            Op::SetBondOptions { bond, .. } => bond,
            Op::SetMaster { port, .. } | Op::ReleasePort { port } => port,
            Op::AddAddress { link, .. } | Op::DeleteAddress { link, .. } => link,
            Op::AddRoute { route } => &route.link,
            Op::DeleteRoute { route } => &route.link,
            Op::RestoreAddress { address } => &address.link,
            Op::RestoreRoute { route } => route.link.as_deref().unwrap_or_default(),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::CreateLink {
                name,
                kind,
                mtu,
                mac,
            } => {
                write!(f, "create {name}")?;
                match kind {
                    LinkKind::Ethernet => write!(f, " ethernet")?,
                    LinkKind::Bond(o) => {
                        write!(f, " bond")?;
                        for c in BondChange::all_of(o) {
                            write!(f, " {c}")?;
                        }
                    }
                    LinkKind::Vlan { parent, id } => write!(f, " vlan {id} on {parent}")?,
                    LinkKind::Macvlan { parent, mode } => write!(f, " macvlan {mode} on {parent}")?,
                    LinkKind::Ipvlan { parent, mode } => write!(f, " ipvlan {mode} on {parent}")?,
                }
                if let Some(m) = mtu {
                    write!(f, " mtu {m}")?;
                }
                if let Some(m) = mac {
                    write!(f, " address {m}")?;
                }
                Ok(())
            }
            Op::DeleteLink { name } => write!(f, "delete {name}"),
            Op::SetBondOptions { bond, changes } => {
                write!(f, "set {bond}")?;
                for c in changes {
                    write!(f, " {c}")?;
                }
                Ok(())
            }
            Op::SetMacvlanMode { name, mode } => write!(f, "set {name} macvlan mode {mode}"),
            Op::SetUp { name } => write!(f, "set {name} up"),
            Op::SetDown { name } => write!(f, "set {name} down"),
            Op::SetMaster { port, bond } => write!(f, "set {port} master {bond}"),
            Op::ReleasePort { port } => write!(f, "set {port} nomaster"),
            Op::SetMtu { name, mtu } => write!(f, "set {name} mtu {mtu}"),
            Op::SetAlias { name, alias } => {
                write!(f, "set {name} alias {}", alias.as_deref().unwrap_or("\"\""))
            }
            Op::DisableIpv6Auto { name } => {
                write!(f, "set {name} ipv6 addrgenmode none accept_ra 0")
            }
            Op::AddAddress { link, address } => write!(f, "add address {address} dev {link}"),
            Op::DeleteAddress { link, address } => {
                write!(f, "delete address {address} dev {link}")
            }
            Op::AddRoute { route } => write!(f, "add route {route}"),
            Op::DeleteRoute { route: r } => {
                f.write_str("delete route ")?;
                write_route(f, r.destination, r.gateway, Some(&r.link), r.metric)
            }
            Op::EnableIpv6Auto { name, .. } => {
                write!(f, "set {name} ipv6 addrgenmode eui64 accept_ra 1")
            }
            Op::RestoreAddress { address: a } => {
                write!(
                    f,
                    "restore address {} dev {} proto {}",
                    a.address, a.link, a.protocol
                )?;
                if let Some(v) = a.valid_lifetime {
                    write!(f, " valid_lft {v}")?;
                }
                if let Some(p) = a.preferred_lifetime {
                    write!(f, " preferred_lft {p}")?;
                }
                Ok(())
            }
            Op::RestoreRoute { route: r } => {
                f.write_str("restore route ")?;
                write_route(f, r.destination, r.gateway, r.link.as_deref(), r.metric)?;
                write!(f, " proto {} scope {}", r.protocol, r.scope)
            }
        }
    }
}

/// A route the way `ip route` prints it.
fn write_route(
    f: &mut fmt::Formatter<'_>,
    destination: IpNet,
    gateway: Option<IpAddr>,
    link: Option<&str>,
    metric: Option<u32>,
) -> fmt::Result {
    if destination.prefix_len() == 0 {
        f.write_str("default")?;
    } else {
        write!(f, "{destination}")?;
    }
    if let Some(gw) = gateway {
        write!(f, " via {gw}")?;
    }
    if let Some(l) = link {
        write!(f, " dev {l}")?;
    }
    if let Some(m) = metric {
        write!(f, " metric {m}")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ifdown_options_need_the_bond_down() {
        let down: Vec<&str> = [
            BondChange::Mode(BondMode::Lacp),
            BondChange::Miimon(100),
            BondChange::Updelay(200),
            BondChange::Downdelay(200),
            BondChange::Primary(None),
            BondChange::PrimaryReselect(PrimaryReselect::Always),
            BondChange::LacpRate(LacpRate::Fast),
            BondChange::XmitHashPolicy(XmitHashPolicy::Layer34),
            BondChange::MinLinks(1),
            BondChange::AdSelect(AdSelect::Bandwidth),
        ]
        .iter()
        .filter(|c| c.needs_bond_down())
        .map(BondChange::name)
        .collect();
        assert_eq!(down, ["mode", "lacp_rate", "ad_select"]);
        assert!(BondChange::Mode(BondMode::Lacp).needs_no_ports());
        assert!(!BondChange::LacpRate(LacpRate::Fast).needs_no_ports());
    }

    #[test]
    fn ops_print_like_iproute2_and_serialize_tagged() {
        let route = Route {
            destination: "0.0.0.0/0".parse().unwrap(),
            gateway: Some("10.0.2.2".parse().unwrap()),
            link: Some("eth0".into()),
            metric: Some(100),
            protocol: 16,
            scope: "universe".into(),
        };
        let op = Op::RestoreRoute { route };
        assert_eq!(
            op.to_string(),
            "restore route default via 10.0.2.2 dev eth0 metric 100 proto 16 scope universe"
        );
        assert_eq!(op.link(), "eth0");
        let v = serde_json::to_value(Op::SetBondOptions {
            bond: "bond0".into(),
            changes: vec![BondChange::Primary(Some("eth2".into()))],
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"op": "set-bond-options", "bond": "bond0",
                "changes": [{"option": "primary", "value": "eth2"}]})
        );
        assert_eq!(
            Op::SetBondOptions {
                bond: "bond0".into(),
                changes: vec![BondChange::Primary(None), BondChange::Miimon(100)],
            }
            .to_string(),
            "set bond0 primary none miimon 100"
        );
    }
}
