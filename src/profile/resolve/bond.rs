//! The bond: its name, its ports and its options with every default
//! applied. An option the mode does not use is rejected, not dropped: the
//! operator wrote it expecting an effect it would not have.

use std::collections::BTreeSet;

use super::merged::Merged;
use super::{dotted_parent, is_vlan_name, Resolving};
use crate::desired::{BondOptions, DesiredLink, LinkKind};
use crate::kinds::{AdSelect, BondMode, LacpRate, Network, PrimaryReselect, XmitHashPolicy};
use crate::profile::model::BondConfig;

/// The node's bond, as the links stacked on it see it.
pub(super) struct Bond {
    pub name: String,
    /// No network or VLAN may sit on one of these.
    pub ports: BTreeSet<String>,
}

/// A bond option that only some modes use.
struct ModeOption {
    field: &'static str,
    set: fn(&BondConfig) -> bool,
    used_by: fn(BondMode) -> bool,
    /// The modes that use it, for messages.
    modes: &'static str,
}

const PRIMARY_MODES: &str = "active-backup, balance-tlb or balance-alb";

/// In the order their problems are reported.
const MODE_OPTIONS: [ModeOption; 5] = [
    ModeOption {
        field: "primary",
        set: |b| b.primary.is_some(),
        used_by: BondMode::uses_primary,
        modes: PRIMARY_MODES,
    },
    ModeOption {
        field: "primaryReselect",
        set: |b| b.primary_reselect.is_some(),
        used_by: BondMode::uses_primary,
        modes: PRIMARY_MODES,
    },
    ModeOption {
        field: "lacpRate",
        set: |b| b.lacp_rate.is_some(),
        used_by: |mode| mode == BondMode::Lacp,
        modes: "802.3ad",
    },
    ModeOption {
        field: "adSelect",
        set: |b| b.ad_select.is_some(),
        used_by: |mode| mode == BondMode::Lacp,
        modes: "802.3ad",
    },
    ModeOption {
        field: "xmitHashPolicy",
        set: |b| b.xmit_hash_policy.is_some(),
        used_by: BondMode::uses_xmit_hash,
        modes: "balance-xor, 802.3ad or balance-tlb",
    },
];

impl Resolving<'_> {
    /// The bond, when `bondConfig` or `interfaces.bondMembers` declares one.
    pub(super) fn bond(&mut self) -> Option<Bond> {
        let m = self.merged;
        if m.bond.is_none() && m.interfaces.bond_members.is_none() {
            return None;
        }
        let name = bond_name(m);
        self.check_name(&m.iface_path("trunk"), &name);
        self.resolve_bond(&name);
        let ports = self
            .links
            .list
            .iter()
            .filter(|l| l.master.is_some())
            .map(|l| l.name.clone())
            .collect();
        Some(Bond { name, ports })
    }

    fn resolve_bond(&mut self, name: &str) {
        let cfg = self.merged.bond.clone().unwrap_or_default();
        let members = self.bond_members(&cfg, name);
        let mode = cfg.mode.unwrap_or(BondMode::ActiveBackup);
        self.unused_bond_options(&cfg, mode);
        let opts = self.bond_options(&cfg, mode, &members);
        for mbr in &members {
            if !self.links.has(mbr) {
                let mut l = DesiredLink::new(mbr, LinkKind::Ethernet);
                l.master = Some(name.to_string());
                self.links.add(l);
            }
        }
        self.links.add(DesiredLink::new(name, LinkKind::Bond(opts)));
    }

    /// The ports: `bondConfig.members`, else `interfaces.bondMembers`, else
    /// eth1 + eth2; each a distinct NIC.
    fn bond_members(&mut self, cfg: &BondConfig, name: &str) -> Vec<String> {
        let m = self.merged;
        let (members, mpath) = match (&cfg.members, &m.interfaces.bond_members) {
            (Some(ms), _) => (ms.clone(), m.bond_path("members", |b| b.members.is_some())),
            (None, Some(ms)) => (ms.clone(), m.iface_path("bondMembers")),
            (None, None) => (
                vec!["eth1".into(), "eth2".into()],
                "bondConfig.members".into(),
            ),
        };
        if members.is_empty() {
            self.reject(&mpath, Some("[]".into()), "at least one bond member");
        }
        let mut seen = BTreeSet::new();
        for (i, mbr) in members.iter().enumerate() {
            let p = format!("{mpath}[{i}]");
            self.check_name(&p, mbr);
            if !seen.insert(mbr.as_str()) {
                self.reject(&p, Some(format!("{mbr:?}")), "each member listed once");
            } else if mbr == name {
                self.reject(&p, Some(format!("{mbr:?}")), "a NIC, not the bond itself");
            } else if is_vlan_name(mbr) {
                self.reject(
                    &p,
                    Some(format!("{mbr:?}")),
                    "a NIC (a VLAN cannot be a bond port)",
                );
            }
        }
        members
    }

    /// Rejects options that `mode` does not use.
    fn unused_bond_options(&mut self, cfg: &BondConfig, mode: BondMode) {
        let m = self.merged;
        let mode_path = m.bond_path("mode", |b| b.mode.is_some());
        for o in MODE_OPTIONS {
            if (o.set)(cfg) && !(o.used_by)(mode) {
                let field = o.field;
                self.reject(
                    &m.bond_path(field, o.set),
                    None,
                    format!(
                        "not set: {field} is only used with mode {} (mode is {mode}, {mode_path})",
                        o.modes
                    ),
                );
            }
        }
    }

    /// The options with defaults applied; those `mode` does not use are
    /// `None`.
    fn bond_options(
        &mut self,
        cfg: &BondConfig,
        mode: BondMode,
        members: &[String],
    ) -> BondOptions {
        let primary = self.bond_primary(cfg, mode, members);
        let miimon = cfg.miimon.unwrap_or(100);
        let updelay = self.bond_delay(cfg.updelay, "updelay", |b| b.updelay.is_some(), miimon);
        let downdelay = self.bond_delay(
            cfg.downdelay,
            "downdelay",
            |b| b.downdelay.is_some(),
            miimon,
        );
        let lacp = mode == BondMode::Lacp;
        let opts = BondOptions {
            mode,
            members: members.to_vec(),
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
            self.reject(
                &self.merged.bond_path("minLinks", |b| b.min_links.is_some()),
                Some(opts.min_links.to_string()),
                format!("at most the number of members ({})", members.len()),
            );
        }
        opts
    }

    /// The primary port in the modes that have one: as written, else the
    /// first member.
    fn bond_primary(
        &mut self,
        cfg: &BondConfig,
        mode: BondMode,
        members: &[String],
    ) -> Option<String> {
        if !mode.uses_primary() {
            return None;
        }
        match &cfg.primary {
            Some(p) if !members.contains(p) => {
                self.reject(
                    &self.merged.bond_path("primary", |b| b.primary.is_some()),
                    Some(format!("{p:?}")),
                    format!("one of the bond members ({})", members.join(", ")),
                );
                None
            }
            Some(p) => Some(p.clone()),
            None => members.first().cloned(),
        }
    }

    /// `updelay`/`downdelay`: as written, which must be a multiple of
    /// `miimon` (the kernel rounds down silently), else the default.
    fn bond_delay(
        &mut self,
        written: Option<u32>,
        field: &str,
        set: fn(&BondConfig) -> bool,
        miimon: u32,
    ) -> u32 {
        let Some(v) = written else {
            return default_delay(miimon);
        };
        let path = self.merged.bond_path(field, set);
        if miimon == 0 && v > 0 {
            self.reject(
                &path,
                Some(v.to_string()),
                "0 when miimon is 0 (link monitoring off)",
            );
        } else if miimon > 0 && v % miimon != 0 {
            self.reject(
                &path,
                Some(v.to_string()),
                format!(
                    "a multiple of miimon {miimon} (the kernel would round it down to {})",
                    v / miimon * miimon
                ),
            );
        }
        v
    }
}

/// The bond is the trunk; else the cluster link, or its parent when the
/// cluster network is on a VLAN; else bond0.
fn bond_name(m: &Merged<'_>) -> String {
    match (&m.interfaces.trunk, &m.interfaces.cluster) {
        (Some(t), _) => t.clone(),
        (None, Some(c)) if !m.vlan_ids.contains_key(&Network::Cluster) => c.clone(),
        (None, Some(c)) => dotted_parent(c).map_or("bond0".into(), |(p, _)| p.to_string()),
        (None, None) => "bond0".into(),
    }
}

/// NixOS's 200 ms, as the kernel would round it for this miimon.
fn default_delay(miimon: u32) -> u32 {
    200u32.checked_div(miimon).map_or(0, |n| n * miimon)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::model::{Interfaces, Profile};

    #[test]
    fn default_delay_is_200_ms_rounded_down_to_miimon() {
        assert_eq!(default_delay(100), 200);
        assert_eq!(default_delay(150), 150);
        assert_eq!(default_delay(300), 0);
        assert_eq!(default_delay(0), 0);
    }

    #[test]
    fn bond_is_named_after_trunk_then_cluster_link() {
        let named = |trunk: Option<&str>, cluster: Option<&str>, vlan: bool| {
            let p = Profile {
                interfaces: Interfaces {
                    trunk: trunk.map(str::to_string),
                    cluster: cluster.map(str::to_string),
                    ..Interfaces::default()
                },
                vlan_ids: if vlan {
                    [(Network::Cluster, 200)].into()
                } else {
                    Default::default()
                },
                ..Profile::default()
            };
            bond_name(&Merged::new(&p, "a"))
        };
        assert_eq!(named(Some("bond1"), Some("bond1.200"), true), "bond1");
        assert_eq!(named(None, Some("bond2"), false), "bond2");
        assert_eq!(named(None, Some("bond3.200"), true), "bond3");
        assert_eq!(named(None, Some("vlan200"), true), "bond0");
        assert_eq!(named(None, None, false), "bond0");
    }
}
