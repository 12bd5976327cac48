//! What a plan needs of the kernel, checked before anything is changed: the
//! capability to change links at all, and support for the link kinds it
//! creates.
//!
//! Module presence is a poor test: a built-in driver without parameters
//! (macvlan, veth on this build host) has no `/sys/module` entry at all. So
//! the kernel itself is asked: an `RTM_NEWLINK` for the kind that is bound to
//! fail *after* the kernel looked the kind up. An unknown kind fails with
//! `EOPNOTSUPP` ("Unknown device type"); a known one fails validation
//! (`EINVAL`/`EADDRNOTAVAIL`). Nothing is ever created: VLAN, macvlan and
//! ipvlan need a lower link, which the probe leaves out, and a bond refuses
//! the multicast MAC the probe gives it.

use std::path::Path;
use std::process::Command;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoData, InfoIpVlan, InfoKind, IpVlanMode, LinkAttribute, LinkInfo, LinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;
use nix::errno::Errno;

use super::error::NetlinkError;
use super::handle::Handle;
use crate::desired::LinkKind;
use crate::plan::Op;

/// Name of the probe link (never actually created).
const PROBE_NAME: &str = "n3xnet-probe";
/// A multicast MAC, which no link may have.
const PROBE_MAC: [u8; 6] = [0x01, 0x00, 0x5e, 0x00, 0x00, 0x01];

/// A link kind n3xnet creates that may need a kernel module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    Bond,
    Vlan,
    Macvlan,
    Ipvlan,
}

impl Kind {
    pub(crate) fn of(kind: &LinkKind) -> Option<Kind> {
        match kind {
            LinkKind::Ethernet => None,
            LinkKind::Bond(_) => Some(Kind::Bond),
            LinkKind::Vlan { .. } => Some(Kind::Vlan),
            LinkKind::Macvlan { .. } => Some(Kind::Macvlan),
            LinkKind::Ipvlan { .. } => Some(Kind::Ipvlan),
        }
    }

    fn what(self) -> &'static str {
        match self {
            Kind::Bond => "bonding",
            Kind::Vlan => "802.1Q VLAN",
            Kind::Macvlan => "macvlan",
            Kind::Ipvlan => "ipvlan",
        }
    }

    fn module(self) -> &'static str {
        match self {
            Kind::Bond => "bonding",
            Kind::Vlan => "8021q",
            Kind::Macvlan => "macvlan",
            Kind::Ipvlan => "ipvlan",
        }
    }

    /// `modprobe` arguments. Loading bonding with its defaults creates a
    /// `bond0` nobody asked for; `max_bonds=0` prevents that.
    fn modprobe_args(self) -> &'static [&'static str] {
        match self {
            Kind::Bond => &["bonding", "max_bonds=0"],
            Kind::Vlan => &["8021q"],
            Kind::Macvlan => &["macvlan"],
            Kind::Ipvlan => &["ipvlan"],
        }
    }

    fn probe(self) -> RouteNetlinkMessage {
        let mut msg = LinkMessage::default();
        msg.attributes
            .push(LinkAttribute::IfName(PROBE_NAME.to_owned()));
        msg.attributes
            .push(LinkAttribute::Address(PROBE_MAC.to_vec()));
        let mut info = vec![LinkInfo::Kind(match self {
            Kind::Bond => InfoKind::Bond,
            Kind::Vlan => InfoKind::Vlan,
            Kind::Macvlan => InfoKind::MacVlan,
            Kind::Ipvlan => InfoKind::IpVlan,
        })];
        if self == Kind::Ipvlan {
            // ipvlan does not validate the MAC; an out-of-range mode fails
            // its validation instead.
            info.push(LinkInfo::Data(InfoData::IpVlan(vec![InfoIpVlan::Mode(
                IpVlanMode::Other(u16::MAX),
            )])));
        }
        msg.attributes.push(LinkAttribute::LinkInfo(info));
        RouteNetlinkMessage::NewLink(msg)
    }
}

/// The kinds `ops` create, each once.
pub(crate) fn kinds_created(ops: &[Op]) -> Vec<Kind> {
    let mut kinds: Vec<Kind> = ops
        .iter()
        .filter_map(|op| match op {
            Op::CreateLink { kind, .. } => Kind::of(kind),
            _ => None,
        })
        .collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

/// `CAP_NET_ADMIN` is in the calling thread's effective set. Checked before
/// the first write so that a missing capability is named plainly instead of
/// surfacing as the first op's EPERM. Unreadable status counts as present:
/// the kernel still has the last word.
fn has_cap_net_admin() -> bool {
    const CAP_NET_ADMIN: u32 = 12;
    let Ok(status) = std::fs::read_to_string("/proc/thread-self/status") else {
        return true;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .is_none_or(|caps| caps & (1 << CAP_NET_ADMIN) != 0)
}

impl Handle {
    /// Fails, before any change, if this process may not change links, or
    /// if the kernel cannot create a link kind that `ops` need, after trying
    /// to load the missing modules.
    pub async fn preflight(&self, ops: &[Op]) -> Result<(), NetlinkError> {
        if !has_cap_net_admin() {
            return Err(NetlinkError::NoCapNetAdmin);
        }
        for kind in kinds_created(ops) {
            self.ensure_kind(kind).await?;
        }
        Ok(())
    }

    pub(crate) async fn ensure_kind(&self, kind: Kind) -> Result<(), NetlinkError> {
        // Let the kernel's own autoload never see bonding's defaults.
        if kind == Kind::Bond && !Path::new("/sys/module/bonding").exists() {
            modprobe(kind);
        }
        if self.kind_supported(kind).await? {
            return Ok(());
        }
        modprobe(kind);
        if self.kind_supported(kind).await? {
            return Ok(());
        }
        Err(NetlinkError::Unsupported {
            what: kind.what(),
            module: kind.module(),
        })
    }

    async fn kind_supported(&self, kind: Kind) -> Result<bool, NetlinkError> {
        let verdict = self
            .batch(
                vec![(kind.probe(), NLM_F_CREATE | NLM_F_EXCL)],
                "probing link kinds",
            )
            .await?
            .pop()
            .ok_or_else(|| NetlinkError::ConnectionClosed("probing link kinds".to_owned()))?;
        match verdict {
            Err(e) if e.errno() == Errno::EOPNOTSUPP => Ok(false),
            Err(e) if e.errno() == Errno::EPERM => Err(NetlinkError::Probe {
                kind: kind.what(),
                source: e,
            }),
            Err(_) => Ok(true),
            Ok(()) => {
                // A kernel that validated less than expected created it.
                tracing::warn!("probe link {PROBE_NAME} was created; deleting it");
                let mut del = LinkMessage::default();
                del.attributes
                    .push(LinkAttribute::IfName(PROBE_NAME.to_owned()));
                self.batch(
                    vec![(RouteNetlinkMessage::DelLink(del), 0)],
                    "deleting the probe link",
                )
                .await?;
                Ok(true)
            }
        }
    }
}

/// Tries to load the module of `kind`; failure is only logged, the probe
/// after it decides.
fn modprobe(kind: Kind) {
    let args = kind.modprobe_args();
    for program in ["modprobe", "/sbin/modprobe", "/usr/sbin/modprobe"] {
        match Command::new(program).args(args).output() {
            Ok(out) if out.status.success() => {
                tracing::info!(module = kind.module(), "loaded kernel module");
                return;
            }
            Ok(out) => {
                tracing::debug!(
                    module = kind.module(),
                    stderr = %String::from_utf8_lossy(&out.stderr).trim(),
                    "modprobe failed"
                );
                return;
            }
            Err(e) => tracing::debug!(program, "cannot run modprobe: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{IpvlanMode, MacvlanMode};

    #[test]
    fn kinds_are_collected_once_and_nics_need_nothing() {
        let mk = |name: &str, kind| Op::CreateLink {
            name: name.into(),
            kind,
            mtu: None,
            mac: None,
        };
        let macvlan = LinkKind::Macvlan {
            parent: "eth0".into(),
            mode: MacvlanMode::Bridge,
        };
        let ops = vec![
            mk("a", macvlan.clone()),
            Op::SetUp { name: "a".into() },
            mk("b", macvlan),
            mk(
                "c",
                LinkKind::Ipvlan {
                    parent: "eth0".into(),
                    mode: IpvlanMode::L2,
                },
            ),
            mk(
                "d",
                LinkKind::Vlan {
                    parent: "eth0".into(),
                    id: 5,
                },
            ),
        ];
        assert_eq!(
            kinds_created(&ops),
            vec![Kind::Vlan, Kind::Macvlan, Kind::Ipvlan]
        );
        assert_eq!(Kind::of(&LinkKind::Ethernet), None);
    }

    #[test]
    fn bonding_is_loaded_without_a_default_bond() {
        assert_eq!(Kind::Bond.modprobe_args(), ["bonding", "max_bonds=0"]);
        assert_eq!(Kind::Vlan.modprobe_args(), ["8021q"]);
        assert_eq!(Kind::Ipvlan.modprobe_args(), ["ipvlan"]);
    }

    #[test]
    fn probes_never_name_a_lower_link() {
        for kind in [Kind::Bond, Kind::Vlan, Kind::Macvlan, Kind::Ipvlan] {
            let RouteNetlinkMessage::NewLink(m) = kind.probe() else {
                panic!("not a newlink")
            };
            assert!(!m
                .attributes
                .iter()
                .any(|a| matches!(a, LinkAttribute::Link(_))));
            assert!(m
                .attributes
                .contains(&LinkAttribute::Address(PROBE_MAC.to_vec())));
        }
    }
}
