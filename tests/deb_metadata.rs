//! The Debian package's inputs agree with each other and with the crate, so
//! a drift shows in `cargo test` rather than only in `scripts/package`
//! (which needs cargo-deb, lintian and piuparts): the synopsis fits, the
//! changelog names this version, the copyright file carries LICENSE-MIT,
//! nothing is installed under /etc, and the example n3xnet.toml is one
//! n3xnetd accepts, with the defaults its comments claim.

use std::fs;
use std::path::{Path, PathBuf};

use n3xnet::config::{DaemonConfig, DriftPolicy, KubernetesConfig, OnlineConfig};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    fs::read_to_string(root().join(rel)).unwrap()
}

fn manifest() -> toml::Table {
    toml::from_str(&read("Cargo.toml")).unwrap()
}

fn deb() -> toml::Table {
    manifest()["package"]["metadata"]["deb"]
        .as_table()
        .unwrap()
        .clone()
}

#[test]
fn synopsis_fits_debian() {
    // cargo-deb makes the description the package synopsis; lintian and
    // dpkg expect at most 80 characters there.
    let d = manifest()["package"]["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(d.chars().count() <= 80, "{} chars: {d}", d.chars().count());
    assert!(
        deb().contains_key("extended-description"),
        "else cargo-deb uses README.md"
    );
}

#[test]
fn changelog_names_this_version() {
    let version = env!("CARGO_PKG_VERSION");
    let first = read("debian/changelog").lines().next().unwrap().to_owned();
    assert!(
        first.starts_with(&format!("n3xnet ({version}-1) ")),
        "debian/changelog starts with {first:?}, Cargo.toml says {version}"
    );
}

#[test]
fn copyright_carries_the_mit_text() {
    let mit: Vec<String> = read("LICENSE-MIT")
        .lines()
        .skip(2)
        .map(|l| {
            if l.is_empty() {
                " .".into()
            } else {
                format!(" {l}")
            }
        })
        .collect();
    let copyright = read("debian/copyright");
    let body: Vec<&str> = copyright
        .split("\nLicense: MIT\n")
        .nth(1)
        .unwrap()
        .lines()
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(body, mit);
    assert!(copyright.contains("/usr/share/common-licenses/Apache-2.0"));
    assert!(read("LICENSE-APACHE").contains("Apache License"));
}

#[test]
fn nothing_installed_under_etc_and_units_disabled() {
    // An asset under etc/ would become a conffile; an n3xnet.toml there
    // would let an enabled n3xnetd take the network over at install.
    let d = deb();
    for a in d["assets"].as_array().unwrap() {
        let dest = a[1].as_str().unwrap().trim_start_matches('/');
        assert!(!dest.starts_with("etc"), "{a:?}");
    }
    for u in d["systemd-units"].as_array().unwrap() {
        assert_eq!(u["enable"].as_bool(), Some(false), "{u:?}");
        assert_eq!(u["start"].as_bool(), Some(false), "{u:?}");
        assert_eq!(u["stop-on-upgrade"].as_bool(), Some(false), "{u:?}");
    }
    for script in ["postinst", "prerm", "postrm", "preinst"] {
        let p = root().join("debian").join(script);
        if p.exists() {
            assert!(
                read(&format!("debian/{script}")).contains("#DEBHELPER#"),
                "{script}"
            );
        }
    }
}

#[test]
fn example_config_is_accepted_with_the_documented_defaults() {
    let text = read("doc/n3xnet.toml.example");
    let c = DaemonConfig::parse(&text, Path::new("/etc/n3xnet"))
        .unwrap_or_else(|d| panic!("n3xnetd rejects doc/n3xnet.toml.example: {d:?}"));
    assert_eq!(c.profile, Path::new("/etc/n3xnet/profile.toml"));
    assert_eq!(c.node.as_deref(), Some("server-1"));
    assert_eq!(c.role, None);
    assert_eq!(c.drift, DriftPolicy::Enforce);
    assert_eq!(c.online, OnlineConfig::default());
    assert_eq!(c.kubernetes, KubernetesConfig::default());
    // The commented-out keys are real keys: uncommented, they still parse.
    let uncommented: String = text
        .lines()
        .map(|l| match l.strip_prefix('#') {
            Some(rest) if rest.contains(" = ") && !rest.starts_with(' ') => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let c = DaemonConfig::parse(&uncommented, Path::new("/etc/n3xnet"))
        .unwrap_or_else(|d| panic!("uncommented example rejected: {d:?}\n{uncommented}"));
    assert_eq!(c.role, Some(n3xnet::kinds::Role::Server));
    assert!(c.kubernetes.nfd_feature_file.is_some());
}
