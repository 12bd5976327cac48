//! Profile loading, validation and resolution, without root: the shipped
//! profiles, n3x's own JSON, a corpus of broken profiles run through the real
//! `n3xnetctl validate`, round trips, golden desired states and a property
//! test that no input panics the loader.

use std::path::{Path, PathBuf};

use n3xnet::profile::{self, Format, Profile};
use proptest::prelude::*;

mod ctl_util;
use ctl_util::{ctl, root};

fn files(dir: &str, exts: &[&str]) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| exts.iter().any(|e| p.extension().is_some_and(|x| x == *e)))
        .collect();
    v.sort();
    v
}

fn shipped() -> Vec<PathBuf> {
    files("profiles", &["toml", "json"])
}

#[test]
fn shipped_profiles_are_valid_and_resolve_for_every_node() {
    let list = shipped();
    assert!(list.len() >= 6, "profiles/ holds {list:?}");
    for path in list {
        let loaded = profile::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for node in loaded.profile.node_names() {
            profile::resolve(&loaded.profile, &node)
                .unwrap_or_else(|e| panic!("{} {node}: {e:?}", path.display()));
        }
    }
}

#[test]
fn validate_cli_accepts_shipped_profiles() {
    let paths: Vec<String> = shipped().iter().map(|p| p.display().to_string()).collect();
    let mut args = vec!["validate"];
    args.extend(paths.iter().map(String::as_str));
    let (code, out, err) = ctl(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out.lines().filter(|l| l.contains(": valid (")).count(),
        paths.len()
    );
}

/// n3x's profiles as `builtins.toJSON` gives them (legacy keys, nulls and
/// all) load unchanged and mean exactly what the shipped TOML means.
#[test]
fn n3x_json_equals_shipped_toml() {
    let list = files("tests/n3x-json", &["json"]);
    assert_eq!(list.len(), 4);
    for json in list {
        let name = json.file_stem().unwrap().to_str().unwrap();
        let from_json = profile::load(&json).unwrap().profile;
        let from_toml = profile::load(&root().join(format!("profiles/{name}.toml")))
            .unwrap()
            .profile;
        assert_eq!(from_json, from_toml, "{name}");
    }
}

#[test]
fn round_trip_through_json_and_toml() {
    for path in shipped() {
        let p = profile::load(&path).unwrap().profile;
        let json = serde_json::to_string_pretty(&p).unwrap();
        assert_eq!(
            profile::parse(&json, Format::Json).unwrap(),
            p,
            "{}",
            path.display()
        );
        let toml = toml::to_string(&p).unwrap();
        assert_eq!(
            profile::parse(&toml, Format::Toml).unwrap(),
            p,
            "{}\n{toml}",
            path.display()
        );
    }
}

struct Expect {
    paths: Vec<String>,
    needs_line: bool,
}

fn expectations(path: &Path) -> Expect {
    let header = if path.extension().is_some_and(|e| e == "json") {
        std::fs::read_to_string(path.with_extension("expect")).unwrap()
    } else {
        std::fs::read_to_string(path).unwrap()
    };
    let paths: Vec<String> = header
        .lines()
        .filter_map(|l| l.strip_prefix("# expect-path: "))
        .map(str::to_string)
        .collect();
    assert!(!paths.is_empty(), "{} has no expect-path", path.display());
    Expect {
        paths,
        needs_line: path.extension().is_some_and(|e| e == "toml")
            && !header.contains("# expect-no-line"),
    }
}

#[test]
fn broken_profiles_name_the_field_and_exit_65() {
    let corpus = files("tests/broken", &["toml", "json"]);
    assert!(corpus.len() >= 30, "only {} broken profiles", corpus.len());
    for path in corpus {
        let expect = expectations(&path);
        let (code, out, err) = ctl(&["validate", "--json", path.to_str().unwrap()]);
        assert_eq!(code, 65, "{}: exit {code}\n{out}{err}", path.display());
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let problems = v[0]["problems"].as_array().unwrap();
        for want in &expect.paths {
            let hit = problems
                .iter()
                .find(|p| p["path"] == want.as_str())
                .unwrap_or_else(|| panic!("{}: no problem at {want}: {out}", path.display()));
            assert!(hit["expected"].as_str().is_some_and(|s| !s.is_empty()));
            if expect.needs_line {
                assert!(
                    hit["line"].is_u64(),
                    "{}: {want} has no line: {hit}",
                    path.display()
                );
            }
        }
        // The human form names the file and the path too.
        let (_, _, err) = ctl(&["validate", path.to_str().unwrap()]);
        for want in &expect.paths {
            assert!(err.contains(&format!("{want}: ")), "{err}");
            assert!(
                err.contains(path.file_name().unwrap().to_str().unwrap()),
                "{err}"
            );
        }
    }
}

#[test]
fn unknown_node_and_missing_file_have_their_own_codes() {
    let p = root().join("profiles/vlans.toml");
    let (code, _, err) = ctl(&["validate", "--node", "server-9", p.to_str().unwrap()]);
    assert_eq!(code, 65, "{err}");
    assert!(
        err.contains("--node: found \"server-9\", expected one of the profile's nodes"),
        "{err}"
    );
    let (code, _, err) = ctl(&["validate", "/nonexistent/profile.toml"]);
    assert_eq!(code, 66, "{err}");
    let (code, _, _) = ctl(&["validate", "--bogus"]);
    assert_eq!(code, 64);
}

/// The resolved desired network of every shipped profile and node, as JSON
/// goldens under tests/golden/desired (rewrite with UPDATE_GOLDEN=1).
#[test]
fn desired_networks_match_goldens() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for path in shipped() {
        let p: Profile = profile::load(&path).unwrap().profile;
        let stem = path.file_stem().unwrap().to_str().unwrap();
        for node in p.node_names() {
            let d = profile::resolve(&p, &node).unwrap();
            let got = serde_json::to_string_pretty(&d).unwrap() + "\n";
            let golden = root().join(format!("tests/golden/desired/{stem}.{node}.json"));
            if update {
                std::fs::write(&golden, &got).unwrap();
            }
            let want = std::fs::read_to_string(&golden).unwrap_or_else(|_| {
                panic!("missing {}; run with UPDATE_GOLDEN=1", golden.display())
            });
            assert_eq!(got, want, "{}", golden.display());
        }
    }
}

#[test]
fn bonding_vlans_server_1_resolves_like_the_nixos_module() {
    use n3xnet::desired::LinkKind;
    use n3xnet::kinds::{BondMode, PrimaryReselect};
    let p = profile::load(&root().join("profiles/bonding-vlans.toml"))
        .unwrap()
        .profile;
    let d = profile::resolve(&p, "server-1").unwrap();
    let names: Vec<&str> = d.links.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["eth1", "eth2", "bond0", "bond0.100", "bond0.200"]);
    let LinkKind::Bond(b) = &d.link("bond0").unwrap().kind else {
        panic!()
    };
    assert_eq!(b.mode, BondMode::ActiveBackup);
    assert_eq!(b.primary.as_deref(), Some("eth1"));
    assert_eq!((b.miimon, b.updelay, b.downdelay), (100, 200, 200));
    assert_eq!(b.primary_reselect, Some(PrimaryReselect::Always));
    assert_eq!(d.link("eth2").unwrap().master.as_deref(), Some("bond0"));
    assert_eq!(
        d.link("bond0.200").unwrap().kind,
        LinkKind::Vlan {
            parent: "bond0".into(),
            id: 200
        }
    );
    assert_eq!(d.cluster_interface, "bond0.200");
    let addrs: Vec<String> = d
        .addresses
        .iter()
        .map(|a| format!("{} {}", a.link, a.address))
        .collect();
    assert_eq!(
        addrs,
        ["bond0.200 192.168.200.1/24", "bond0.100 192.168.100.1/24"]
    );
}

#[test]
fn vlans_broken_gives_each_node_its_own_tags() {
    let p = profile::load(&root().join("profiles/vlans-broken.toml"))
        .unwrap()
        .profile;
    for (node, c, s) in [
        ("server-1", 200, 100),
        ("server-2", 201, 101),
        ("agent-1", 202, 102),
        ("agent-2", 203, 103),
    ] {
        let d = profile::resolve(&p, node).unwrap();
        assert_eq!(d.cluster_interface, format!("eth1.{c}"));
        assert!(d.link(&format!("eth1.{s}")).is_some(), "{node}");
    }
}

#[test]
fn dhcp_node_uses_reserved_ip_and_no_static_address() {
    let p = profile::load(&root().join("profiles/dhcp-simple.toml"))
        .unwrap()
        .profile;
    let d = profile::resolve(&p, "agent-1").unwrap();
    assert_eq!(d.cluster_ip.to_string(), "192.168.1.3");
    assert!(d.link("eth1").unwrap().dhcp);
    assert!(d.addresses.is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary text never panics the loader, in either format.
    #[test]
    fn arbitrary_text_never_panics(s in ".{0,400}") {
        let _ = profile::parse(&s, Format::Toml);
        let _ = profile::parse(&s, Format::Json);
    }

    /// Mutations of a real profile (bytes replaced, cut, duplicated) never
    /// panic and an accepted result always resolves for every node.
    #[test]
    fn mutated_profiles_never_panic(
        idx in 0usize..6,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..6)
    ) {
        let path = &shipped()[idx % shipped().len()];
        let mut bytes = std::fs::read(path).unwrap();
        for (at, b, how) in edits {
            if bytes.is_empty() { break; }
            let at = at % bytes.len();
            match how {
                0 => bytes[at] = b,
                1 => { bytes.truncate(at); }
                _ => { let tail = bytes[at..].to_vec(); bytes.extend(tail); }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(p) = profile::parse(&text, Format::Toml) {
            for node in p.node_names() {
                prop_assert!(profile::resolve(&p, &node).is_ok());
            }
        }
    }
}
