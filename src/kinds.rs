//! The words every layer shares: the logical networks, the addressing mode,
//! a node's k3s role, and the kernel's option values for bonds, macvlan and
//! ipvlan.
//!
//! They live here, not in the profile, because the desired network, the
//! kernel's state, the plan, health and the daemon's configuration speak
//! them too; none of those should depend on how a profile is written.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

/// How a node's cluster address is set: written in the profile, or leased
/// by DHCP (reserved for the node's MAC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Static,
    Dhcp,
}

/// The logical networks of an n3x node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    Cluster,
    Storage,
}

impl Network {
    pub const ALL: [Network; 2] = [Network::Cluster, Network::Storage];

    pub fn as_str(self) -> &'static str {
        match self {
            Network::Cluster => "cluster",
            Network::Storage => "storage",
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A node's k3s role: it decides the k3s flags and the units a node runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Server,
    Agent,
}

impl Role {
    /// The name, as in profiles and k3s unit names.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Server => "server",
            Role::Agent => "agent",
        }
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "server" => Ok(Role::Server),
            "agent" => Ok(Role::Agent),
            _ => Err(()),
        }
    }
}

/// What every kernel option enum offers generic code (messages, parsing).
pub trait KernelEnum: FromStr + Copy {
    /// What the option is called in messages.
    const WHAT: &'static str;
    /// Every accepted name, comma separated.
    fn names() -> String;
}

/// Declares an enum of kernel option values: the kernel's name for each
/// variant, its numeric value (both are accepted on input, as sysfs does), and
/// `Display`/`FromStr`/`Serialize` by name.
macro_rules! kernel_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($var:ident = $text:literal, $num:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($var),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$var),+];
            /// What this option is called in messages.
            pub const WHAT: &'static str = $what;

            /// The kernel's name of the value (as in sysfs and `ip -d link`).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$var => $text),+ }
            }

            /// The kernel's numeric value (as in `IFLA_BOND_*` attributes).
            pub fn number(self) -> u8 {
                match self { $($name::$var => $num),+ }
            }

            pub fn from_number(n: u8) -> Option<Self> {
                match n { $($num => Some($name::$var),)+ _ => None }
            }

            /// Every accepted name, for "expected one of …" messages.
            pub fn names() -> String {
                [$($text),+].join(", ")
            }
        }

        impl KernelEnum for $name {
            const WHAT: &'static str = $what;
            fn names() -> String {
                $name::names()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s {
                    $($text => Ok($name::$var),)+
                    _ => s.parse::<u8>().ok().and_then(Self::from_number).ok_or(()),
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        /// By name, as serialized (the change journal reads ops back).
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(|()| {
                    serde::de::Error::custom(format!(
                        "{}: found {s:?}, expected one of {}", $what, $name::names()
                    ))
                })
            }
        }
    };
}

kernel_enum!(
    /// Bonding mode (`mode` in the kernel's bonding documentation).
    BondMode, "bond mode" {
        BalanceRr = "balance-rr", 0;
        ActiveBackup = "active-backup", 1;
        BalanceXor = "balance-xor", 2;
        Broadcast = "broadcast", 3;
        Lacp = "802.3ad", 4;
        BalanceTlb = "balance-tlb", 5;
        BalanceAlb = "balance-alb", 6;
    }
);

impl BondMode {
    /// Modes in which `primary` and `primary_reselect` take effect.
    pub fn uses_primary(self) -> bool {
        matches!(
            self,
            BondMode::ActiveBackup | BondMode::BalanceTlb | BondMode::BalanceAlb
        )
    }

    /// Modes in which `xmit_hash_policy` takes effect.
    pub fn uses_xmit_hash(self) -> bool {
        matches!(
            self,
            BondMode::BalanceXor | BondMode::Lacp | BondMode::BalanceTlb
        )
    }
}

kernel_enum!(
    /// `primary_reselect`: when the primary port takes over again.
    PrimaryReselect, "primary reselect policy" {
        Always = "always", 0;
        Better = "better", 1;
        Failure = "failure", 2;
    }
);

kernel_enum!(
    /// `lacp_rate`: how often the partner is asked to send LACPDUs.
    LacpRate, "LACP rate" {
        Slow = "slow", 0;
        Fast = "fast", 1;
    }
);

kernel_enum!(
    /// `xmit_hash_policy`: which header fields pick the transmit port.
    XmitHashPolicy, "transmit hash policy" {
        Layer2 = "layer2", 0;
        Layer34 = "layer3+4", 1;
        Layer23 = "layer2+3", 2;
        Encap23 = "encap2+3", 3;
        Encap34 = "encap3+4", 4;
        VlanSrcMac = "vlan+srcmac", 5;
    }
);

kernel_enum!(
    /// `ad_select`: how the active 802.3ad aggregator is chosen.
    AdSelect, "aggregator selection" {
        Stable = "stable", 0;
        Bandwidth = "bandwidth", 1;
        Count = "count", 2;
    }
);

kernel_enum!(
    /// macvlan mode (`IFLA_MACVLAN_MODE`, a bit in the kernel).
    MacvlanMode, "macvlan mode" {
        Private = "private", 1;
        Vepa = "vepa", 2;
        Bridge = "bridge", 4;
        Passthru = "passthru", 8;
        Source = "source", 16;
    }
);

kernel_enum!(
    /// ipvlan mode (`IFLA_IPVLAN_MODE`).
    IpvlanMode, "ipvlan mode" {
        L2 = "l2", 0;
        L3 = "l3", 1;
        L3s = "l3s", 2;
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_enums_take_names_and_numbers() {
        assert_eq!("802.3ad".parse(), Ok(BondMode::Lacp));
        assert_eq!("4".parse(), Ok(BondMode::Lacp));
        assert_eq!("layer3+4".parse(), Ok(XmitHashPolicy::Layer34));
        assert_eq!("7".parse::<BondMode>(), Err(()));
        assert_eq!(BondMode::ALL.len(), 7);
        assert_eq!(MacvlanMode::Bridge.number(), 4);
    }
}
