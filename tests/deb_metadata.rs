//! The Debian package's inputs agree with each other and with the crate, so
//! a drift shows in `cargo test` rather than only in `scripts/package`
//! (which needs cargo-deb, lintian and piuparts): the synopsis fits, the
//! changelog names this version, the copyright file carries LICENSE-MIT,
//! nothing is installed under /etc, every binary, unit and section-8 page
//! is packaged, and the example n3xnet.toml is one n3xnetd accepts, with
//! the defaults its comments claim.

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

/// Every binary, unit and section-8 page of the crate is packaged: a new one
/// (as n3xnet-report was) cannot be left out of the .deb.
#[test]
fn every_binary_unit_and_man8_page_is_packaged() {
    let d = deb();
    let assets: Vec<(String, String)> = d["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a[0].as_str().unwrap().to_owned(),
                a[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let bins: Vec<String> = manifest()["bin"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(bins, ["n3xnetctl", "n3xnetd", "n3xnet-report"]);
    for bin in &bins {
        let dest = if bin == "n3xnetctl" {
            "usr/bin/"
        } else {
            "usr/sbin/"
        };
        assert!(
            assets.contains(&(format!("target/release/{bin}"), dest.to_owned())),
            "{bin} is not installed in /{dest}: {assets:?}"
        );
    }

    let mut units: Vec<String> = fs::read_dir(root().join("systemd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|n| n.strip_suffix(".service").map(str::to_owned))
        .collect();
    units.sort();
    assert_eq!(units, ["n3xnet-report", "n3xnet-wait-online", "n3xnetd"]);
    let packaged: Vec<&toml::Value> = d["systemd-units"].as_array().unwrap().iter().collect();
    let mut names: Vec<String> = packaged
        .iter()
        .map(|u| u["unit-name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, units, "systemd-units vs systemd/*.service");
    // The services are restarted on upgrade once the new binaries are
    // unpacked (n3xnetd, then the reporter); wait-online follows n3xnetd by
    // its BindsTo=.
    let unit = |n: &str| {
        *packaged
            .iter()
            .find(|u| u["unit-name"].as_str() == Some(n))
            .unwrap()
    };
    for (name, restart) in [
        ("n3xnetd", true),
        ("n3xnet-report", true),
        ("n3xnet-wait-online", false),
    ] {
        assert_eq!(
            unit(name)["restart-after-upgrade"].as_bool(),
            Some(restart),
            "{name}"
        );
    }
    let order: Vec<&str> = packaged
        .iter()
        .map(|u| u["unit-name"].as_str().unwrap())
        .collect();
    let at = |n: &str| order.iter().position(|u| *u == n).unwrap();
    assert!(at("n3xnetd") < at("n3xnet-report"), "{order:?}");

    for page in fs::read_dir(root().join("doc/man")).unwrap() {
        let name = page.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".8") {
            assert!(
                assets.contains(&(format!("doc/man/{name}"), "usr/share/man/man8/".to_owned())),
                "doc/man/{name} is not packaged: {assets:?}"
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
