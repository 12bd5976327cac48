//! Bond options between the two vocabularies: [`BondChange`] (typed, what a
//! plan sets) and [`BondInfo`] (strings, as the kernel reports them).

use std::str::FromStr;

use crate::desired::BondOptions;
use crate::kinds::{AdSelect, BondMode, LacpRate, PrimaryReselect, XmitHashPolicy};
use crate::state::BondInfo;

use super::op::BondChange;

/// The bond's current value of the option `change` sets, as the kernel
/// names it (`none` for no primary), comparable with [`BondChange::value`].
pub fn current_value(info: &BondInfo, change: &BondChange) -> String {
    match change {
        BondChange::Mode(_) => info.mode.clone(),
        BondChange::Miimon(_) => info.miimon.to_string(),
        BondChange::Updelay(_) => info.updelay.to_string(),
        BondChange::Downdelay(_) => info.downdelay.to_string(),
        BondChange::Primary(_) => info.primary.clone().unwrap_or_else(|| "none".into()),
        BondChange::PrimaryReselect(_) => info.primary_reselect.clone(),
        BondChange::LacpRate(_) => info.lacp_rate.clone(),
        BondChange::XmitHashPolicy(_) => info.xmit_hash_policy.clone(),
        BondChange::MinLinks(_) => info.min_links.to_string(),
        BondChange::AdSelect(_) => info.ad_select.clone(),
    }
}

/// The bond holds `change`'s value already.
pub fn holds(info: &BondInfo, change: &BondChange) -> bool {
    current_value(info, change) == change.value()
}

/// Records `change` in `info`, as the kernel would after applying it.
pub fn set(info: &mut BondInfo, change: &BondChange) {
    match change {
        BondChange::Mode(v) => info.mode = v.as_str().into(),
        BondChange::Miimon(v) => {
            // updelay and downdelay are kept in miimon ticks
            // (bond_option_miimon_set): a new miimon scales them.
            if let (Some(up), Some(down)) = (
                info.updelay.checked_div(info.miimon),
                info.downdelay.checked_div(info.miimon),
            ) {
                info.updelay = up.saturating_mul(*v);
                info.downdelay = down.saturating_mul(*v);
            }
            info.miimon = *v;
        }
        BondChange::Updelay(v) => info.updelay = *v,
        BondChange::Downdelay(v) => info.downdelay = *v,
        BondChange::Primary(p) => info.primary = p.clone(),
        BondChange::PrimaryReselect(v) => info.primary_reselect = v.as_str().into(),
        BondChange::LacpRate(v) => info.lacp_rate = v.as_str().into(),
        BondChange::XmitHashPolicy(v) => info.xmit_hash_policy = v.as_str().into(),
        BondChange::MinLinks(v) => info.min_links = *v,
        BondChange::AdSelect(v) => info.ad_select = v.as_str().into(),
    }
}

/// The change that gives the option `change` sets back its current value.
pub fn old_value(info: &BondInfo, change: &BondChange) -> Result<BondChange, String> {
    Ok(match change {
        BondChange::Mode(_) => BondChange::Mode(parse(&info.mode)?),
        BondChange::Miimon(_) => BondChange::Miimon(info.miimon),
        BondChange::Updelay(_) => BondChange::Updelay(info.updelay),
        BondChange::Downdelay(_) => BondChange::Downdelay(info.downdelay),
        BondChange::Primary(_) => BondChange::Primary(info.primary.clone()),
        BondChange::PrimaryReselect(_) => {
            BondChange::PrimaryReselect(parse(&info.primary_reselect)?)
        }
        BondChange::LacpRate(_) => BondChange::LacpRate(parse(&info.lacp_rate)?),
        BondChange::XmitHashPolicy(_) => BondChange::XmitHashPolicy(parse(&info.xmit_hash_policy)?),
        BondChange::MinLinks(_) => BondChange::MinLinks(info.min_links),
        BondChange::AdSelect(_) => BondChange::AdSelect(parse(&info.ad_select)?),
    })
}

/// The kernel accepts the option in `mode` (its `unsuppmodes` in
/// bond_options.c): `lacp_rate` only in 802.3ad, `primary` only where a
/// primary port exists.
pub fn supported(mode: &str, change: &BondChange) -> bool {
    match change {
        BondChange::LacpRate(_) => mode == BondMode::Lacp.as_str(),
        BondChange::Primary(_) => BondMode::from_str(mode).is_ok_and(BondMode::uses_primary),
        _ => true,
    }
}

/// A new bond as the kernel creates it, before any option is set.
pub fn new_info() -> BondInfo {
    BondInfo {
        mode: BondMode::BalanceRr.as_str().into(),
        miimon: 0,
        updelay: 0,
        downdelay: 0,
        primary: None,
        primary_reselect: PrimaryReselect::Always.as_str().into(),
        lacp_rate: LacpRate::Slow.as_str().into(),
        xmit_hash_policy: XmitHashPolicy::Layer2.as_str().into(),
        min_links: 0,
        ad_select: AdSelect::Stable.as_str().into(),
        active_port: None,
        ad_info: None,
    }
}

/// Options that rebuild a bond like `info` with `members`: every option the
/// kernel accepts in the bond's mode, so a recreated bond matches the old one.
pub fn options_of(info: &BondInfo, members: Vec<String>) -> Result<BondOptions, String> {
    let mode: BondMode = parse(&info.mode)?;
    Ok(BondOptions {
        mode,
        members,
        primary: info.primary.clone().filter(|_| mode.uses_primary()),
        miimon: info.miimon,
        updelay: info.updelay,
        downdelay: info.downdelay,
        primary_reselect: Some(parse(&info.primary_reselect)?),
        lacp_rate: match mode {
            BondMode::Lacp => Some(parse(&info.lacp_rate)?),
            _ => None,
        },
        xmit_hash_policy: Some(parse(&info.xmit_hash_policy)?),
        min_links: info.min_links,
        ad_select: Some(parse(&info.ad_select)?),
    })
}

fn parse<T: FromStr>(s: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("unknown bond option value {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What bonding does (bond_option_miimon_set keeps the delays in ticks),
    /// seen in the VM tier: miimon 100 -> 200 turned updelay 200 into 400.
    #[test]
    fn a_new_miimon_scales_the_delays_as_the_kernel_does() {
        let mut info = new_info();
        set(&mut info, &BondChange::Miimon(100));
        set(&mut info, &BondChange::Updelay(200));
        set(&mut info, &BondChange::Downdelay(300));
        set(&mut info, &BondChange::Miimon(200));
        assert_eq!((info.miimon, info.updelay, info.downdelay), (200, 400, 600));
        // The plan sends the delays after miimon, in the same request.
        set(&mut info, &BondChange::Updelay(200));
        assert_eq!(info.updelay, 200);
    }
}
