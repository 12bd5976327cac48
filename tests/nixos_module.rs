//! The NixOS module (`nix/module.nix`), the package (`nix/package.nix`) and the
//! flake (`flake.nix`), evaluated for real with `nix-instantiate` (Debian's
//! `nix-bin`, `scripts/install-deps nix`) and nixpkgs' `lib` alone: the NixOS
//! options the module touches are stubs (`tests/nix/stubs.nix`), since no
//! nixpkgs checkout is reachable where this runs.
//!
//! Every n3x profile (n3x's own Nix files) and every shipped profile, for every
//! node, goes through the module; what it generates is then checked by n3xnet
//! itself: the profile by `n3xnetctl validate --node`, `n3xnet.toml` by the
//! library's parser and by `n3xnetd`'s own start-up checks, the managed links
//! against `n3xnetctl render desired`. Wrong input must fail with the
//! assertion's text. n3x's own files are cross-checked too: `builtins.toJSON`
//! of its profiles equals `tests/n3x-json/`, and its `mkExtraFlags` equals
//! `n3xnetctl k3s-flags --format args` (32 cases).
//!
//! Inputs: `nix-instantiate` on PATH and the vendor directory (`N3XNET_VENDOR`,
//! default `<repo>/../shared/vendor`: nixpkgs `lib/` and n3x's `lib/`, never
//! copied into this repository). Missing either FAILS under `CI` or
//! `N3XNET_REQUIRE_NIX=1`, and elsewhere too unless `N3XNET_NO_NIX=1` asks to
//! skip (loudly). Not covered here (needs nixpkgs): unit text generation,
//! `pkgs.formats.toml`'s own output, `nix flake check`, the VM test; those are
//! the flake's checks.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use n3xnet::config::{DaemonConfig, DriftPolicy};
use serde_json::Value;

const PKG: &str = "/nix/store/00000000000000000000000000000000-n3xnet";
const N3X_PROFILES: [&str; 4] = ["simple", "vlans", "bonding-vlans", "dhcp-simple"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn flag(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false" | "no"))
}

/// The vendor directory when the tier can run; `None` when skipping was asked
/// for. Panics with what is missing otherwise.
fn vendor() -> Option<&'static Path> {
    static VENDOR: OnceLock<Option<PathBuf>> = OnceLock::new();
    VENDOR.get_or_init(find_vendor).as_deref()
}

fn find_vendor() -> Option<PathBuf> {
    let required = flag("CI") || flag("N3XNET_REQUIRE_NIX");
    if !required && std::env::var("N3XNET_NO_NIX").as_deref() == Ok("1") {
        // Straight to stderr: the test harness captures eprintln! of passing tests.
        let _ = std::io::stderr().write_all(
            b"\n!!!!!!!! N3XNET_NO_NIX=1: NixOS module tests SKIPPED (nix/module.nix, flake.nix untested) !!!!!!!!\n",
        );
        return None;
    }
    let why = if required {
        "these tests are required here (CI or N3XNET_REQUIRE_NIX=1 is set)"
    } else {
        "to skip these tests instead, set N3XNET_NO_NIX=1"
    };
    match nix_cmd().arg("--version").output() {
        Ok(o) if o.status.success() => {}
        other => panic!(
            "nix-instantiate is not usable ({other:?}): install Debian's nix-bin \
             (scripts/install-deps nix); {why}"
        ),
    }
    let vendor = std::env::var_os("N3XNET_VENDOR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared/vendor"));
    let vendor = vendor.canonicalize().unwrap_or_else(|e| {
        panic!(
            "the vendor directory {} is missing ({e}): point N3XNET_VENDOR at a folder holding \
             nixpkgs-lib/lib and n3x/lib (see ../shared/vendor/README.md); {why}",
            vendor.display()
        )
    });
    for need in [
        "nixpkgs-lib/lib/default.nix",
        "n3x/lib/k3s/mk-k3s-flags.nix",
    ] {
        assert!(
            vendor.join(need).is_file(),
            "{} lacks {need}: N3XNET_VENDOR must hold nixpkgs-lib/lib and n3x/lib ({why})",
            vendor.display()
        );
    }
    Some(vendor)
}

/// `nix-instantiate` with its state (`/nix/var/nix`, which Debian's Nix
/// wants to write to even in read-only mode) in the target directory, so the
/// tests run without root and leave the machine's Nix state alone.
fn nix_cmd() -> Command {
    // Per user: Nix insists on owning it.
    let state =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("nix-state-{}", nix::unistd::getuid()));
    std::fs::create_dir_all(&state).expect("create the Nix state directory");
    let mut cmd = Command::new("nix-instantiate");
    cmd.env("NIX_STATE_DIR", state);
    cmd
}

/// One `--argstr NAME VALUE` or `--arg NAME EXPR` of nix-instantiate.
type NixArg<'a> = (&'a str, &'a str, &'a str);

/// `nix-instantiate --eval --strict --json FILE --argstr vendor V ARGS`.
fn nix_eval(file: &str, args: &[NixArg]) -> Output {
    let vendor = vendor().expect("checked by the caller");
    let mut cmd = nix_cmd();
    cmd.args(["--readonly-mode", "--eval", "--strict", "--json"])
        .arg(repo().join(file))
        .arg("--argstr")
        .arg("vendor")
        .arg(vendor);
    for (kind, name, value) in args {
        cmd.args([kind, name, value]);
    }
    cmd.output().expect("run nix-instantiate")
}

fn nix_json(file: &str, args: &[NixArg]) -> Value {
    let out = nix_eval(file, args);
    assert!(
        out.status.success(),
        "nix-instantiate {file} {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("nix-instantiate printed JSON")
}

/// Evaluates `args` expecting failure; returns stderr.
fn nix_fails(file: &str, args: &[NixArg]) -> String {
    let out = nix_eval(file, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "nix-instantiate {file} {args:?} succeeded, expected a failure; printed {}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {bin}: {e}"))
}

fn ctl(args: &[&str]) -> Output {
    run(env!("CARGO_BIN_EXE_n3xnetctl"), args)
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("expected a list, found {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("expected strings in {v}"))
                .to_owned()
        })
        .collect()
}

/// Node names as n3xnet counts them: ipAddresses, reservations, nodes.
fn toml_nodes(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let v: toml::Table = toml::from_str(&text).unwrap();
    let mut names = BTreeSet::new();
    for key in ["ipAddresses", "reservations", "nodes"] {
        if let Some(t) = v.get(key).and_then(|t| t.as_table()) {
            names.extend(t.keys().cloned());
        }
    }
    names.into_iter().collect()
}

fn shipped_profiles() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(repo().join("profiles"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

/// The kernel modules each shipped profile needs (any of its nodes).
fn expected_modules(profile: &str) -> &'static [&'static str] {
    match profile {
        "simple" | "dhcp-simple" => &[],
        "vlans" | "vlans-broken" => &["8021q"],
        "bonding-vlans" | "dual-stack" => &["bonding", "8021q"],
        "n100-bond" => &["bonding", "8021q", "macvlan"],
        "demo" => &["macvlan"],
        other => panic!("expected_modules: add shipped profile {other}"),
    }
}

struct Case<'a> {
    label: String,
    node: &'a str,
    /// services.k3s.role, when k3s is enabled in the evaluation.
    k3s_role: Option<&'a str>,
    /// services.n3xnet.profileFile: the file given as it is.
    profile_file: Option<&'a Path>,
}

/// What every successful evaluation must hold; returns the profile text.
fn check_generated(r: &Value, c: &Case) -> String {
    let label = &c.label;
    let dir = tempfile::tempdir().unwrap();

    // The profile: /etc/n3xnet/profile.json (text), or profileFile as it is.
    let etc = &r["etc"];
    let (profile_path, profile_text) = match c.profile_file {
        None => {
            let t = etc["n3xnet/profile.json"]["text"]
                .as_str()
                .unwrap_or_else(|| panic!("{label}: no /etc/n3xnet/profile.json text: {etc}"));
            let p = dir.path().join("profile.json");
            std::fs::write(&p, t).unwrap();
            (p, t.to_owned())
        }
        Some(f) => {
            let etc_name = format!(
                "n3xnet/profile.{}",
                f.extension().unwrap().to_str().unwrap()
            );
            assert_eq!(
                etc[&etc_name]["source"],
                f.to_str().unwrap(),
                "{label}: {etc}"
            );
            (f.to_path_buf(), std::fs::read_to_string(f).unwrap())
        }
    };
    let etc_profile = format!(
        "/etc/n3xnet/{}",
        if c.profile_file
            .is_some_and(|f| f.extension().unwrap() == "toml")
        {
            "profile.toml"
        } else {
            "profile.json"
        }
    );
    let p = profile_path.to_str().unwrap();
    let o = ctl(&["validate", "--node", c.node, p]);
    assert!(
        o.status.success(),
        "{label}: n3xnetctl validate --node {}: {}",
        c.node,
        text(&o)
    );

    // n3xnet.toml: the value the module hands to pkgs.formats.toml, as TOML.
    let value = &r["config"];
    assert_eq!(
        &etc["n3xnet/n3xnet.toml"]["source"]["value"], value,
        "{label}: /etc/n3xnet/n3xnet.toml"
    );
    let toml_value = toml::Value::try_from(value).unwrap();
    let toml_text = toml::to_string(&toml_value).unwrap();
    let parsed = DaemonConfig::parse(&toml_text, Path::new("/etc/n3xnet"))
        .unwrap_or_else(|d| panic!("{label}: n3xnetd's parser rejects\n{toml_text}\n{d:?}"));
    assert_eq!(parsed.profile, Path::new(&etc_profile), "{label}");
    assert_eq!(parsed.node.as_deref(), Some(c.node), "{label}");
    assert_eq!(parsed.drift, DriftPolicy::Enforce, "{label}");
    assert_eq!(
        value.get("role").and_then(Value::as_str),
        c.k3s_role,
        "{label}: role follows services.k3s.role, absent without k3s"
    );

    // The daemon's own start-up checks (configuration, profile, node, role,
    // online.require), with the profile path pointed at the copy: a good
    // setup gets as far as the network namespace, which does not exist (66).
    let mut local = value.clone();
    local["profile"] = Value::from(p);
    let conf = dir.path().join("n3xnet.toml");
    std::fs::write(
        &conf,
        toml::to_string(&toml::Value::try_from(&local).unwrap()).unwrap(),
    )
    .unwrap();
    let netns = format!("n3xnet-nix-missing-{}", std::process::id());
    let o = run(
        env!("CARGO_BIN_EXE_n3xnetd"),
        &["--config", conf.to_str().unwrap(), "--netns", &netns],
    );
    assert!(
        o.status.code() == Some(66) && String::from_utf8_lossy(&o.stderr).contains(&netns),
        "{label}: n3xnetd should accept the setup and stop at the missing netns: {}",
        text(&o)
    );

    // What n3xnet replaces is off, over a module that turns it all on.
    for (k, v) in r["off"].as_object().unwrap() {
        assert_eq!(v, false, "{label}: {k} must be forced off");
    }

    // Units: the package's, enabled and pointed at the package.
    let s = &r["services"];
    let d = &s["n3xnetd"];
    assert!(
        strings(&d["wantedBy"]).contains(&"multi-user.target".to_owned()),
        "{label}: {d}"
    );
    assert_eq!(
        strings(&d["serviceConfig"]["ExecStart"]),
        [
            "",
            &format!("{PKG}/bin/n3xnetd --config /etc/n3xnet/n3xnet.toml")
        ],
        "{label}"
    );
    assert_eq!(d["stopIfChanged"], false, "{label}");
    // No multus.confDir in these cases: n3xnetd may write nothing of /etc.
    assert!(
        d["serviceConfig"].get("ReadWritePaths").is_none(),
        "{label}: {d}"
    );
    assert_eq!(
        d["restartTriggers"][0]["value"], *value,
        "{label}: restart on config change"
    );
    let reload = strings(&d["reloadTriggers"]);
    match c.profile_file {
        Some(f) => assert_eq!(reload, [f.to_str().unwrap()], "{label}"),
        None => assert!(
            reload.len() == 1
                && reload[0].len() == 64
                && reload[0].bytes().all(|b| b.is_ascii_hexdigit()),
            "{label}: reload trigger is the profile's sha256: {reload:?}"
        ),
    }
    // The reporter: started with n3xnetd, restarted in place when the
    // configuration it reads at start changes, writing only its unit's own
    // directories unless settings name a sink elsewhere.
    let rep = &s["n3xnet-report"];
    assert_eq!(
        strings(&rep["wantedBy"]),
        ["n3xnetd.service"],
        "{label}: {rep}"
    );
    assert_eq!(
        strings(&rep["serviceConfig"]["ExecStart"]),
        [
            "",
            &format!("{PKG}/bin/n3xnet-report --config /etc/n3xnet/n3xnet.toml")
        ],
        "{label}"
    );
    assert_eq!(rep["stopIfChanged"], false, "{label}");
    assert_eq!(
        rep["restartTriggers"].as_array().map(Vec::len),
        Some(1),
        "{label}: {rep}"
    );
    assert_eq!(
        rep["restartTriggers"][0]["value"], *value,
        "{label}: the reporter restarts on config change"
    );
    assert_eq!(
        strings(&rep["reloadTriggers"]),
        Vec::<String>::new(),
        "{label}"
    );
    let sink_dirs: Vec<String> = [
        value
            .get("prometheus")
            .and_then(|p| p.get("textfile"))
            .and_then(Value::as_str),
        value
            .get("kubernetes")
            .and_then(|k| k.get("nfdFeatureFile"))
            .and_then(Value::as_str),
    ]
    .into_iter()
    .flatten()
    .map(|p| {
        let abs = Path::new("/etc/n3xnet").join(p);
        format!("-{}", abs.parent().unwrap().display())
    })
    .collect();
    match rep["serviceConfig"].get("ReadWritePaths") {
        None => assert!(sink_dirs.is_empty(), "{label}: {sink_dirs:?}"),
        Some(rw) => assert_eq!(strings(rw), sink_dirs, "{label}"),
    }

    let w = &s["n3xnet-wait-online"];
    assert_eq!(
        strings(&w["requiredBy"]),
        ["network-online.target"],
        "{label}: {w}"
    );
    assert_eq!(
        strings(&w["serviceConfig"]["ExecStart"]),
        [
            "",
            &format!("{PKG}/bin/n3xnetctl wait-online --timeout 120")
        ],
        "{label}"
    );
    for k in ["systemdPackages", "dbusPackages", "systemPackages"] {
        assert_eq!(strings(&r[k]), ["n3xnet"], "{label}: {k}");
    }
    assert_eq!(r["package"], PKG, "{label}");

    // The managed links and kernel modules agree with n3xnet's own resolution.
    let o = ctl(&["render", "desired", "-p", p, "-n", c.node]);
    assert!(o.status.success(), "{label}: render desired: {}", text(&o));
    let desired: Value = serde_json::from_slice(&o.stdout).unwrap();
    let links = desired["links"].as_array().unwrap();
    let names: BTreeSet<String> = links
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_owned())
        .collect();
    let managed: BTreeSet<String> = strings(&r["managedLinks"]).into_iter().collect();
    assert_eq!(
        managed, names,
        "{label}: module's managedLinks vs render desired"
    );
    let modules = strings(&r["kernelModules"]);
    for l in links {
        let need = match l["kind"]["type"].as_str() {
            Some("bond") => "bonding",
            Some("vlan") => "8021q",
            Some("macvlan") => "macvlan",
            Some("ipvlan") => "ipvlan",
            _ => continue,
        };
        assert!(
            modules.iter().any(|m| m == need),
            "{label}: {need} for {l} in {modules:?}"
        );
    }
    assert!(
        r["extraModprobeConfig"]
            .as_str()
            .unwrap()
            .contains("options bonding max_bonds=0"),
        "{label}"
    );
    assert_eq!(r["warnings"], Value::Array(vec![]), "{label}");
    profile_text
}

#[test]
fn n3x_profiles_every_node() {
    if vendor().is_none() {
        return;
    }
    let mut triggers: BTreeMap<String, String> = BTreeMap::new();
    for profile in N3X_PROFILES {
        let json: Value = serde_json::from_str(
            &std::fs::read_to_string(repo().join(format!("tests/n3x-json/{profile}.json")))
                .unwrap(),
        )
        .unwrap();
        for node in json["ipAddresses"].as_object().unwrap().keys() {
            let role = if node.starts_with("server") {
                "server"
            } else {
                "agent"
            };
            let r = nix_json(
                "tests/nix/eval.nix",
                &[
                    ("--argstr", "n3xProfile", profile),
                    ("--argstr", "node", node),
                    ("--argstr", "k3sRole", role),
                ],
            );
            let c = Case {
                label: format!("n3x {profile} {node}"),
                node,
                k3s_role: Some(role),
                profile_file: None,
            };
            let text = check_generated(&r, &c);
            // n3x's generator was part of the evaluation, and lost.
            assert!(
                !strings(&r["n3xNetworkdFiles"]).is_empty(),
                "{}: n3x's mkNixOSConfig contributed nothing",
                c.label
            );
            // The profile written is n3x's profile as n3x serializes it.
            let written: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(written, json, "{}: profile.json vs tests/n3x-json", c.label);
            let trigger = strings(&r["services"]["n3xnetd"]["reloadTriggers"]).remove(0);
            let prev = triggers.insert(text.clone(), trigger.clone());
            assert!(
                prev.is_none_or(|p| p == trigger),
                "{}: same profile, same trigger",
                c.label
            );
        }
    }
    let distinct: BTreeSet<&String> = triggers.values().collect();
    assert_eq!(
        distinct.len(),
        triggers.len(),
        "a profile change changes the reload trigger"
    );
}

#[test]
fn shipped_profiles_every_node() {
    if vendor().is_none() {
        return;
    }
    for path in shipped_profiles() {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let p = path.to_str().unwrap();
        for (i, node) in toml_nodes(&path).iter().enumerate() {
            // As an attrset (builtins.fromTOML → profile.json) for every node,
            let r = nix_json(
                "tests/nix/eval.nix",
                &[("--argstr", "tomlProfile", p), ("--argstr", "node", node)],
            );
            let c = Case {
                label: format!("{name}.toml {node}"),
                node,
                k3s_role: None,
                profile_file: None,
            };
            check_generated(&r, &c);
            let mut modules = strings(&r["kernelModules"]);
            modules.sort();
            let mut want: Vec<&str> = expected_modules(&name).to_vec();
            want.sort();
            assert_eq!(modules, want, "{}: kernel modules", c.label);

            // and as profileFile, given as it is, for the first node.
            if i == 0 {
                let r = nix_json(
                    "tests/nix/eval.nix",
                    &[("--argstr", "profileFile", p), ("--argstr", "node", node)],
                );
                let c = Case {
                    label: format!("profileFile {name}.toml {node}"),
                    node,
                    k3s_role: None,
                    profile_file: Some(&path),
                };
                check_generated(&r, &c);
            }
        }
    }
}

/// n3x's vlans-broken holds functions: builtins.toJSON refuses it, and it has
/// no ipAddresses, so through the module it is a profile without nodes
/// (n3xnet's own vlans-broken.toml is the usable one). Function-valued
/// attributes are dropped, at any depth.
#[test]
fn function_valued_attributes_are_dropped() {
    if vendor().is_none() {
        return;
    }
    let vendor = vendor().unwrap().to_str().unwrap().to_owned();
    let expr = format!(
        "builtins.toJSON (import {vendor}/n3x/lib/network/profiles/vlans-broken.nix {{ lib = import {vendor}/nixpkgs-lib/lib; }})"
    );
    let o = nix_cmd()
        .args(["--readonly-mode", "--eval", "--expr", &expr])
        .output()
        .unwrap();
    assert!(
        !o.status.success()
            && String::from_utf8_lossy(&o.stderr).contains("cannot convert a function to JSON"),
        "{}",
        text(&o)
    );

    let e = nix_fails(
        "tests/nix/eval.nix",
        &[
            ("--argstr", "n3xProfile", "vlans-broken"),
            ("--argstr", "node", "server-1"),
        ],
    );
    assert!(
        e.contains("Failed assertions:")
            && e.contains(
                "services.n3xnet.node = \"server-1\" is not a node of the profile services.n3xnet.profile (its nodes: none)"
            ),
        "{e}"
    );

    // Functions next to data (top level and nested) vanish from profile.json.
    let r = nix_json(
        "tests/nix/eval.nix",
        &[
            ("--argstr", "n3xProfile", "bonding-vlans"),
            ("--argstr", "node", "server-1"),
            (
                "--arg",
                "n3xnet",
                "{ profile.nodeConfig = n: { }; profile.k3sExtraFlags = n: [ ]; profile.interfaces.f = x: x; }",
            ),
        ],
    );
    let c = Case {
        label: "bonding-vlans with functions".into(),
        node: "server-1",
        k3s_role: None,
        profile_file: None,
    };
    let text = check_generated(&r, &c);
    let written: Value = serde_json::from_str(&text).unwrap();
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/n3x-json/bonding-vlans.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(written, want);
}

#[test]
fn wrong_input_fails_with_the_assertion_text() {
    if vendor().is_none() {
        return;
    }
    let bonding = ("--argstr", "n3xProfile", "bonding-vlans");
    let s1 = ("--argstr", "node", "server-1");
    let n100 = repo().join("profiles/n100-bond.toml");
    let n100 = n100.to_str().unwrap();
    let cases: Vec<(&str, Vec<NixArg>, &str)> = vec![
        (
            "node not in the profile (hostname default)",
            vec![bonding],
            "services.n3xnet.node = \"nixos\" is not a node of the profile services.n3xnet.profile (its nodes: agent-1, agent-2, server-1, server-2); it defaults to networking.hostName: set services.n3xnet.node",
        ),
        (
            "node not in a profileFile",
            vec![("--argstr", "profileFile", n100), s1],
            "services.n3xnet.node = \"server-1\" is not a node of the profile",
        ),
        (
            "both profile and profileFile",
            vec![bonding, s1, ("--argstr", "profileFile", n100)],
            "services.n3xnet: set exactly one of services.n3xnet.profile (an n3x profile attrset) and services.n3xnet.profileFile (a TOML or JSON file); both are set",
        ),
        (
            "neither profile nor profileFile",
            vec![s1],
            "services.n3xnet: set exactly one of services.n3xnet.profile (an n3x profile attrset) and services.n3xnet.profileFile (a TOML or JSON file); neither is set",
        ),
        (
            "an address on a bond port (virtualisation.vlans does this)",
            vec![
                bonding,
                s1,
                (
                    "--arg",
                    "extra",
                    "{ networking.interfaces.eth1.ipv4.addresses = [ { address = \"192.168.1.1\"; prefixLength = 24; } ]; }",
                ),
            ],
            "services.n3xnet: networking.interfaces.eth1.ipv4.addresses claim(s) a link that n3xnet manages on node server-1 (bond0, bond0.100, bond0.200, eth1, eth2)",
        ),
        (
            "a scripted bond over a managed NIC",
            vec![
                bonding,
                s1,
                ("--arg", "extra", "{ networking.bonds.bond1.interfaces = [ \"eth2\" ]; }"),
            ],
            "services.n3xnet: networking.bonds.bond1 claim(s) a link",
        ),
        (
            "a scripted VLAN of the profile's name",
            vec![
                bonding,
                s1,
                (
                    "--arg",
                    "extra",
                    "{ networking.vlans.\"bond0.200\" = { id = 200; interface = \"bond0\"; }; }",
                ),
            ],
            "services.n3xnet: networking.vlans.bond0.200 claim(s) a link",
        ),
        (
            "a scripted macvlan of a shim's name",
            vec![
                ("--argstr", "tomlProfile", n100),
                ("--argstr", "node", "n100-1"),
                (
                    "--arg",
                    "extra",
                    "{ networking.macvlans.mv-storage = { interface = \"bond0.100\"; }; }",
                ),
            ],
            "services.n3xnet: networking.macvlans.mv-storage claim(s) a link that n3xnet manages on node n100-1",
        ),
        (
            "a role contradicting nodes.<node>.role",
            vec![
                ("--argstr", "tomlProfile", n100),
                ("--argstr", "node", "n100-3"),
                ("--argstr", "k3sRole", "server"),
            ],
            "services.n3xnet.role = \"server\" contradicts nodes.n100-3.role = \"agent\" of the profile services.n3xnet.profile",
        ),
        (
            "settings outside online/kubernetes/prometheus/multus",
            vec![bonding, s1, ("--arg", "n3xnet", "{ settings.nodes = \"x\"; }")],
            "services.n3xnet.settings may hold only online, kubernetes, prometheus, multus; found nodes",
        ),
    ];
    for (what, args, message) in &cases {
        let e = nix_fails("tests/nix/eval.nix", args);
        assert!(
            e.contains("Failed assertions:") && e.contains(message),
            "{what}: expected {message:?} in\n{e}"
        );
    }

    // Foreign links stay the host's business: an address on eth0 is fine.
    nix_json(
        "tests/nix/eval.nix",
        &[
            bonding,
            s1,
            (
                "--arg",
                "extra",
                "{ networking.interfaces.eth0.ipv4.addresses = [ { address = \"10.0.2.15\"; prefixLength = 24; } ]; }",
            ),
        ],
    );
}

#[test]
fn settings_reach_n3xnet_toml() {
    if vendor().is_none() {
        return;
    }
    let r = nix_json(
        "tests/nix/eval.nix",
        &[
            ("--argstr", "n3xProfile", "bonding-vlans"),
            ("--argstr", "node", "server-2"),
            ("--argstr", "k3sRole", "server"),
            (
                "--arg",
                "n3xnet",
                "{ drift = \"report\"; waitOnline.timeout = 300; settings = { online = { require = [ \"cluster\" \"storage\" ]; timeout = \"90s\"; }; kubernetes = { dataDir = \"/var/lib/k3s\"; heartbeat = \"infinity\"; nfdFeatureFile = \"features.d/n3xnet\"; }; prometheus.textfile = \"/var/lib/node-exporter/n3xnet.prom\"; multus.confDir = \"/etc/cni/multus/net.d\"; }; }",
            ),
        ],
    );
    let toml_text = toml::to_string(&toml::Value::try_from(&r["config"]).unwrap()).unwrap();
    let c = DaemonConfig::parse(&toml_text, Path::new("/etc/n3xnet"))
        .unwrap_or_else(|d| panic!("{toml_text}\n{d:?}"));
    assert_eq!(c.drift, DriftPolicy::Report);
    assert_eq!(c.online.require, ["cluster", "storage"]);
    assert_eq!(c.online.timeout, Some(std::time::Duration::from_secs(90)));
    assert_eq!(c.kubernetes.data_dir, Path::new("/var/lib/k3s"));
    assert_eq!(c.kubernetes.heartbeat, None);
    assert_eq!(
        c.kubernetes.nfd_feature_file.as_deref(),
        Some(Path::new("/etc/n3xnet/features.d/n3xnet"))
    );
    assert_eq!(
        c.prometheus.textfile.as_deref(),
        Some(Path::new("/var/lib/node-exporter/n3xnet.prom"))
    );
    // The sinks' directories, writable for the reporter (its unit allows only
    // the default ones).
    assert_eq!(
        strings(&r["services"]["n3xnet-report"]["serviceConfig"]["ReadWritePaths"]),
        ["-/var/lib/node-exporter", "-/etc/n3xnet/features.d"]
    );
    // n3xnetd may write the Multus CNI configs, and nothing else of /etc.
    assert_eq!(
        c.multus.conf_dir.as_deref(),
        Some(Path::new("/etc/cni/multus/net.d"))
    );
    assert_eq!(
        strings(&r["services"]["n3xnetd"]["serviceConfig"]["ReadWritePaths"]),
        ["-/etc/cni/multus/net.d"]
    );
    assert_eq!(
        strings(&r["services"]["n3xnet-wait-online"]["serviceConfig"]["ExecStart"])[1],
        format!("{PKG}/bin/n3xnetctl wait-online --timeout 300")
    );

    // waitOnline.enable = false: the unit is not enabled.
    let r = nix_json(
        "tests/nix/eval.nix",
        &[
            ("--argstr", "n3xProfile", "simple"),
            ("--argstr", "node", "agent-1"),
            ("--arg", "n3xnet", "{ waitOnline.enable = false; }"),
        ],
    );
    assert!(
        r["services"].get("n3xnet-wait-online").is_none(),
        "{}",
        r["services"]
    );
}

/// n3x's files as n3x evaluates them agree with n3xnet: the JSON of its
/// profiles and its k3s flags.
#[test]
fn n3x_cross_checks() {
    if vendor().is_none() {
        return;
    }
    let r = nix_json("tests/nix/n3x.nix", &[]);
    for profile in N3X_PROFILES {
        let nix: Value = serde_json::from_str(r["profiles"][profile].as_str().unwrap()).unwrap();
        let ours: Value = serde_json::from_str(
            &std::fs::read_to_string(repo().join(format!("tests/n3x-json/{profile}.json")))
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            nix, ours,
            "builtins.toJSON of n3x's {profile}.nix vs tests/n3x-json"
        );
    }
    let mut cases = 0;
    for (profile, nodes) in r["k3sFlags"].as_object().unwrap() {
        let file = repo().join(format!("tests/n3x-json/{profile}.json"));
        for (node, roles) in nodes.as_object().unwrap() {
            for (role, flags) in roles.as_object().unwrap() {
                let o = ctl(&[
                    "k3s-flags",
                    "--profile",
                    file.to_str().unwrap(),
                    "--node",
                    node,
                    "--role",
                    role,
                    "--format",
                    "args",
                ]);
                assert!(o.status.success(), "{profile} {node} {role}: {}", text(&o));
                let ours = String::from_utf8_lossy(&o.stdout).trim_end().to_owned();
                assert_eq!(
                    ours,
                    strings(flags).join(" "),
                    "{profile} {node} {role}: n3xnetctl k3s-flags vs n3x's mkExtraFlags"
                );
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 32, "4 profiles × 4 nodes × 2 roles");
}

#[test]
fn flake_outputs_and_nix_files_parse() {
    if vendor().is_none() {
        return;
    }
    for f in [
        "flake.nix",
        "nix/package.nix",
        "nix/module.nix",
        "nix/tests/bonding-vlans.nix",
        "nix/tests/module-eval.nix",
        "tests/nix/stubs.nix",
        "tests/nix/eval.nix",
        "tests/nix/n3x.nix",
        "tests/nix/flake.nix",
        "tests/nix/package.nix",
    ] {
        let o = nix_cmd()
            .arg("--parse")
            .arg(repo().join(f))
            .output()
            .unwrap();
        assert!(o.status.success(), "{f}: {}", text(&o));
    }

    let r = nix_json("tests/nix/flake.nix", &[]);
    assert_eq!(strings(&r["inputs"]), ["nixpkgs"]);
    assert_eq!(
        strings(&r["outputs"]),
        ["checks", "nixosModules", "overlays", "packages"]
    );
    assert_eq!(
        strings(&r["packages"]["x86_64-linux"]),
        ["default", "n3xnet", "n3xnet-aarch64-cross"]
    );
    assert_eq!(
        strings(&r["packages"]["aarch64-linux"]),
        ["default", "n3xnet"]
    );
    assert_eq!(r["packages"].as_object().unwrap().len(), 2);
    assert_eq!(
        strings(&r["checks"]["x86_64-linux"]),
        ["module-eval", "vm-bonding-vlans"]
    );
    assert_eq!(strings(&r["nixosModules"]), ["default", "n3xnet"]);
    assert_eq!(strings(&r["overlays"]), ["default"]);
    let package_nix = repo().join("nix/package.nix");
    let package_nix = package_nix.to_str().unwrap();
    for (system, packages) in r["packageCalls"].as_object().unwrap() {
        for (name, call) in packages.as_object().unwrap() {
            assert_eq!(call["file"], package_nix, "{system} {name}");
            assert_eq!(call["system"], *system, "{system} {name}");
            let via = if name == "n3xnet-aarch64-cross" {
                "pkgsCross.aarch64-multiplatform.callPackage"
            } else {
                "callPackage"
            };
            assert_eq!(call["stub"], via, "{system} {name}");
        }
    }
    assert_eq!(r["overlay"], package_nix);
    assert_eq!(
        r["modulePackage"], "/nix/store/00000000000000000000000000000000-n3xnet-x86_64-linux",
        "nixosModules.default: package defaults to self.packages.<system>.n3xnet"
    );
    let vm = &r["vmTest"];
    assert_eq!(vm["hasScript"], true);
    assert_eq!(strings(&vm["nodes"]), ["server"]);
    assert_eq!(
        vm["failedAssertions"],
        Value::Array(vec![]),
        "the VM node's module assertions"
    );
    assert_eq!(
        strings(&vm["etc"]),
        ["n3xnet/n3xnet.toml", "n3xnet/profile.toml"]
    );
    assert_eq!(vm["networkd"], false);
    assert!(
        !repo().join("flake.lock").exists(),
        "no flake.lock until a machine with nixpkgs creates it"
    );
}

/// nix/package.nix's install script, run here with stand-ins for nixpkgs'
/// setup hooks: units get store paths, vendor files land where NixOS looks.
#[test]
fn package_install_script() {
    if vendor().is_none() {
        return;
    }
    let r = nix_json("tests/nix/package.nix", &[]);
    assert_eq!(r["pname"], "n3xnet");
    assert_eq!(r["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(r["lockFile"], repo().join("Cargo.lock").to_str().unwrap());
    assert_eq!(r["mainProgram"], "n3xnetctl");
    assert!(r["preCheck"]
        .as_str()
        .unwrap()
        .contains("N3XNET_NO_NETNS=1"));
    // What the tests that run without root spawn (tests/kube: python3, openssl, curl).
    assert_eq!(
        strings(&r["nativeCheckInputs"]),
        ["python3", "openssl", "curl"]
    );

    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("hooks.log");
    let script = format!(
        r#"set -euo pipefail
substituteInPlace() {{
  local f=$1; shift
  local c; c=$(<"$f")
  while [ $# -gt 0 ]; do
    [ "$1" = --replace-fail ] || {{ echo "stand-in knows only --replace-fail, got $1" >&2; return 1; }}
    grep -qF -- "$2" "$f" || {{ echo "substituteInPlace: $2 not in $f" >&2; return 1; }}
    c=${{c//"$2"/"$3"}}
    printf '%s\n' "$c" > "$f"
    shift 3
  done
}}
installManPage() {{ for f; do install -Dm444 -t "$out/share/man/man${{f##*.}}" "$f"; done; }}
installShellCompletion() {{ echo "installShellCompletion $*" >> "{log}"; }}
{}"#,
        r["postInstall"].as_str().unwrap(),
        log = log.display()
    );
    let o = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("out", out.path())
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(o.status.success(), "postInstall: {}", text(&o));
    let outp = out.path().to_str().unwrap();
    let unit =
        |n: &str| std::fs::read_to_string(out.path().join("lib/systemd/system").join(n)).unwrap();
    let d = unit("n3xnetd.service");
    assert!(
        d.contains(&format!(
            "\nExecStart={outp}/bin/n3xnetd --config /etc/n3xnet/n3xnet.toml\n"
        )),
        "{d}"
    );
    assert!(
        d.contains("\nExecReload=/nix/store/00000000000000000000000000000000-coreutils/bin/kill -HUP $MAINPID\n"),
        "{d}"
    );
    let w = unit("n3xnet-wait-online.service");
    assert!(
        w.contains(&format!(
            "\nExecStart={outp}/bin/n3xnetctl wait-online --timeout 120\n"
        )),
        "{w}"
    );
    let rep = unit("n3xnet-report.service");
    assert!(
        rep.contains(&format!(
            "\nExecStart={outp}/bin/n3xnet-report --config /etc/n3xnet/n3xnet.toml\n"
        )),
        "{rep}"
    );
    // Every unit of systemd/ is installed.
    let mut installed: Vec<String> = std::fs::read_dir(out.path().join("lib/systemd/system"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    installed.sort();
    let mut units: Vec<String> = std::fs::read_dir(repo().join("systemd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".service"))
        .collect();
    units.sort();
    assert_eq!(installed, units);
    for (name, u) in [
        ("n3xnetd", &d),
        ("wait-online", &w),
        ("n3xnet-report", &rep),
    ] {
        for line in u.lines().filter(|l| l.starts_with("Exec")) {
            assert!(
                !line.contains("=/usr/") && !line.contains("=/bin/"),
                "{name}: {line}"
            );
        }
    }
    // Unchanged otherwise.
    for (name, u) in [("n3xnetd", &d), ("n3xnet-report", &rep)] {
        let orig = std::fs::read_to_string(repo().join(format!("systemd/{name}.service"))).unwrap();
        assert_eq!(u.lines().count(), orig.lines().count(), "{name}");
    }
    for f in [
        "share/dbus-1/system.d/io.n3x.Net1.conf",
        "lib/modules-load.d/n3xnet.conf",
        "lib/modprobe.d/n3xnet.conf",
        "share/n3xnet/profiles/bonding-vlans.toml",
    ] {
        assert!(out.path().join(f).is_file(), "{f} not installed");
    }
    // Man pages and completions iff doc/ has them (another change adds them).
    let man = repo().join("doc/man");
    let post = r["postInstall"].as_str().unwrap();
    assert_eq!(post.contains("installManPage"), man.is_dir());
    if man.is_dir() {
        assert!(out.path().join("share/man").is_dir());
    }
    let completions = repo().join("doc/completions").is_dir();
    assert_eq!(
        log.exists(),
        completions,
        "installShellCompletion iff doc/completions"
    );
}

/// Profiles written in Nix for what no shipped profile has: a bond named
/// after the untagged cluster interface, a bond named after the cluster
/// VLAN's parent, per-node overrides, an ipvlan shim with a cut default name.
/// The module's view of the managed links must still be n3xnet's.
#[test]
fn nix_written_profiles_resolve_like_n3xnet() {
    if vendor().is_none() {
        return;
    }
    let common = r#"serverApi = "https://10.1.0.1:6443"; clusterCidr = "10.42.0.0/16"; serviceCidr = "10.43.0.0/16";"#;
    let profiles = [
        (
            "bond named after the untagged cluster interface",
            format!(
                r#"{{ {common} interfaces = {{ cluster = "bond1"; bondMembers = [ "eth3" "eth4" ]; }}; ipAddresses.server-1.cluster = "10.1.0.1"; }}"#
            ),
            &["bonding"][..],
        ),
        (
            "bond named after the cluster VLAN's parent",
            format!(
                r#"{{ {common} interfaces = {{ cluster = "bond2.300"; }}; vlanIds.cluster = 300; bondConfig = {{ mode = "802.3ad"; members = [ "eth5" "eth6" ]; }}; ipAddresses.server-1.cluster = "10.1.0.1"; }}"#
            ),
            &["bonding", "8021q"][..],
        ),
        (
            "per-node VLAN override and an ipvlan shim",
            format!(
                r#"{{ {common} interfaces = {{ trunk = "eth1"; cluster = "eth1.200"; }}; vlanIds.cluster = 200; ipAddresses.server-1.cluster = "10.1.0.1"; nodes.server-1 = {{ interfaces.cluster = "eth1.210"; vlanIds.cluster = 210; }}; multus.a-very-long-nad-name = {{ type = "ipvlan"; master = "eth1"; subnet = "192.168.30.0/24"; rangeStart = "192.168.30.10"; rangeEnd = "192.168.30.250"; hostAddresses.server-1 = "192.168.30.1"; }}; }}"#
            ),
            &["8021q", "ipvlan"][..],
        ),
    ];
    for (what, profile, modules) in &profiles {
        let n3xnet = format!("{{ profile = {profile}; }}");
        let r = nix_json(
            "tests/nix/eval.nix",
            &[
                ("--argstr", "node", "server-1"),
                ("--arg", "n3xnet", &n3xnet),
            ],
        );
        let c = Case {
            label: (*what).to_owned(),
            node: "server-1",
            k3s_role: None,
            profile_file: None,
        };
        check_generated(&r, &c);
        assert_eq!(strings(&r["kernelModules"]), *modules, "{what}");
    }
}

/// README's "Example: an n3x host": the node comes from networking.hostName,
/// the role from services.k3s, the profile from a Nix path.
#[test]
fn readme_example_host() {
    if vendor().is_none() {
        return;
    }
    let path = repo().join("profiles/n100-bond.toml");
    let r = nix_json(
        "tests/nix/eval.nix",
        &[
            ("--argstr", "profileFile", path.to_str().unwrap()),
            ("--argstr", "k3sRole", "server"),
            ("--arg", "extra", "{ networking.hostName = \"n100-1\"; }"),
            (
                "--arg",
                "n3xnet",
                "{ settings = { online.require = [ \"cluster\" \"storage\" ]; kubernetes.dataDir = \"/var/lib/k3s\"; }; }",
            ),
        ],
    );
    let c = Case {
        label: "README n100-1".into(),
        node: "n100-1",
        k3s_role: Some("server"),
        profile_file: Some(&path),
    };
    check_generated(&r, &c);
    assert_eq!(
        r["config"]["online"]["require"],
        serde_json::json!(["cluster", "storage"])
    );
    assert_eq!(r["config"]["kubernetes"]["dataDir"], "/var/lib/k3s");
}
