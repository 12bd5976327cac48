//! The labels n3xnetd publishes on its Node, computed from the health.
//!
//! Every value is a valid Kubernetes label value (at most 63 characters of
//! `[A-Za-z0-9._-]`, beginning and ending alphanumeric, or empty), and so is
//! every name part: link names and network names come from the profile and
//! may hold characters a label may not (`multus:pods`). A value that needs
//! changing keeps what it can and ends in a hash of the original, so two
//! different originals never map to the same label.

use std::collections::BTreeMap;
use std::path::Path;

use crate::health::Health;

/// Label name (without the prefix) to value.
pub type Labels = BTreeMap<String, String>;

/// The longest label value and label name part.
pub const MAX_LEN: usize = 63;

/// The labels for `health` (none but `profile` before the first read of
/// the kernel), with `prefix` (`network.n3x.io/`) in front of every name:
///
/// - `profile`: the profile's name;
/// - `health`: `ok`, `degraded` or `down` (the worst network);
/// - `online`: `true` or `false` (the online set is up);
/// - one per logical network: `cluster`, `storage`, `multus.<nad>`: its level;
/// - per bond: `<bond>.active` (the active port, when the mode has one),
///   `<bond>.ports-up` (ports carrying traffic).
pub fn labels(health: Option<&Health>, profile: &str, prefix: &str) -> Labels {
    let mut out = Labels::new();
    let mut put = |name: &str, value: &str| {
        out.insert(format!("{prefix}{}", sanitize(name)), sanitize(value));
    };
    put("profile", profile);
    let Some(h) = health else {
        return out;
    };
    put("health", h.level.as_str());
    put("online", if h.online { "true" } else { "false" });
    for n in &h.networks {
        put(&n.name.replace(':', "."), n.level.as_str());
    }
    for b in &h.bonds {
        if let Some(active) = &b.active_port {
            put(&format!("{}.active", b.name), active);
        }
        put(&format!("{}.ports-up", b.name), &b.ports_up.to_string());
    }
    out
}

/// The labels for a node running the profile at `profile`, whose name is
/// its file's name without extension (`bonding-vlans`).
pub fn for_profile(health: Option<&Health>, profile: &Path, prefix: &str) -> Labels {
    let name = profile
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    labels(health, &name, prefix)
}

/// `s` as a valid label value (also a valid label name part, when not
/// empty): unchanged when it already is one; otherwise every character a
/// label may not hold becomes `-`, the ends are trimmed to alphanumerics,
/// and `-<8 hex digits of the original's hash>` is appended, shortening
/// the rest so the whole fits 63 characters.
pub fn sanitize(s: &str) -> String {
    if is_valid(s) {
        return s.to_owned();
    }
    let hash = format!("{:08x}", fnv1a(s.as_bytes()));
    let replaced: String = s
        .chars()
        .map(|c| if allowed(c) { c } else { '-' })
        .collect();
    let keep = MAX_LEN - hash.len() - 1;
    let body: String = replaced.chars().take(keep).collect();
    let body = body.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    if body.is_empty() {
        hash
    } else {
        format!("{body}-{hash}")
    }
}

/// A valid label value: empty, or up to 63 of `[A-Za-z0-9._-]` beginning
/// and ending with an alphanumeric.
pub fn is_valid(s: &str) -> bool {
    if s.is_empty() {
        return true;
    }
    let b = s.as_bytes();
    s.len() <= MAX_LEN
        && s.chars().all(allowed)
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
}

fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

/// 32-bit FNV-1a: stable across Rust versions and machines (std's hasher
/// is not promised to be), so the same name gets the same label on every
/// node and after every upgrade.
fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5, |h: u32, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::health::{BondHealth, Level, NetworkHealth, NetworkKind};

    pub(crate) fn health(level: Level, online: bool) -> Health {
        let net = |name: &str, kind, level| NetworkHealth {
            name: name.into(),
            kind,
            link: "bond0.100".into(),
            required: name == "cluster",
            level,
            reason: None,
        };
        Health {
            node: "server-1".into(),
            level,
            online,
            summary: format!("online: cluster {}", level.as_str()),
            networks: vec![
                net("cluster", NetworkKind::Cluster, level),
                net("multus:pods", NetworkKind::Multus, Level::Ok),
            ],
            links: vec![],
            bonds: vec![BondHealth {
                name: "bond0".into(),
                mode: "active-backup".into(),
                active_port: Some("eth1".into()),
                ports_up: 2,
                ports_total: 2,
                min_links: 0,
                level: Level::Ok,
                reason: None,
                ports: vec![],
                aggregator: None,
            }],
        }
    }

    #[test]
    fn the_label_set_of_a_bonded_node() {
        let l = labels(
            Some(&health(Level::Degraded, true)),
            "bonding-vlans",
            "network.n3x.io/",
        );
        let expect = [
            ("network.n3x.io/bond0.active", "eth1"),
            ("network.n3x.io/bond0.ports-up", "2"),
            ("network.n3x.io/cluster", "degraded"),
            ("network.n3x.io/health", "degraded"),
            ("network.n3x.io/multus.pods", "ok"),
            ("network.n3x.io/online", "true"),
            ("network.n3x.io/profile", "bonding-vlans"),
        ];
        let got: Vec<(&str, &str)> = l.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, expect);
        // Before the first read of the kernel only the profile is known.
        let l = labels(None, "demo", "n3x.example/");
        assert_eq!(
            l.into_iter().collect::<Vec<_>>(),
            [("n3x.example/profile".to_owned(), "demo".to_owned())]
        );
    }

    #[test]
    fn valid_values_pass_unchanged() {
        for v in ["", "ok", "eth1", "bond0.100", "a_b-c.d", &"x".repeat(63)] {
            assert!(is_valid(v), "{v:?}");
            assert_eq!(sanitize(v), v);
        }
    }

    #[test]
    fn invalid_values_become_valid_distinct_and_stable() {
        let cases = [
            "multus:pods",
            "-leading",
            "trailing.",
            "with space",
            "ünïcode",
            "::",
            &"y".repeat(64),
            &"z".repeat(200),
        ];
        let mut seen = std::collections::BTreeSet::new();
        for v in cases {
            let s = sanitize(v);
            assert!(is_valid(&s) && !s.is_empty(), "{v:?} -> {s:?}");
            assert!(seen.insert(s.clone()), "collision on {s:?}");
            assert_eq!(sanitize(v), s, "stable");
        }
        assert_eq!(
            sanitize("multus:pods"),
            format!("multus-pods-{:08x}", fnv1a(b"multus:pods"))
        );
        assert_eq!(sanitize(&"y".repeat(64)).len(), 63);
        // The same prefix, different originals: different labels.
        assert_ne!(
            sanitize(&"a".repeat(70)),
            sanitize(&format!("{}b", "a".repeat(70)))
        );
        // Known FNV-1a test vectors: the hash is the published one.
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
    }
}
