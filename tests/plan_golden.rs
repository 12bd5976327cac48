//! Golden plans: every case under `tests/plan/<case>/` holds a profile and
//! the node it is planned for (`profile.toml`, `node`), the kernel's state
//! (`current.json`), a note on what the case is about (`README`) and the
//! expected plan text (`expected.plan`; `error: …` when planning must fail).
//! The expected files are the spec: `UPDATE_GOLDEN=1` rewrites them, and
//! every rewrite must be reviewed by hand.
//!
//! Beyond the text, every case must hold the planner's contracts: an empty
//! plan exactly when every check row passes; a plan that the kernel model
//! accepts and after which the state checks clean and plans empty; and an
//! undo log (each op's inverse, from the state before it) that, run
//! backwards, gives back the state the plan started from.

use std::path::{Path, PathBuf};

use n3xnet::desired::DesiredNetwork;
use n3xnet::plan::{self, check, inverse, simulate, Op, Plan, PlanError};
use n3xnet::profile::{self, Format};
use n3xnet::state::KernelState;

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/plan");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("current.json").exists())
        .collect();
    v.sort();
    v
}

fn name(case: &Path) -> String {
    case.file_name().unwrap().to_string_lossy().into_owned()
}

fn read(case: &Path, file: &str) -> String {
    std::fs::read_to_string(case.join(file))
        .unwrap_or_else(|e| panic!("{}/{file}: {e}", case.display()))
}

fn load(case: &Path) -> (DesiredNetwork, KernelState) {
    let profile = profile::parse(&read(case, "profile.toml"), Format::Toml)
        .unwrap_or_else(|d| panic!("{}: invalid profile: {d:?}", name(case)));
    let node = read(case, "node");
    let desired = profile::resolve(&profile, node.trim())
        .unwrap_or_else(|d| panic!("{}: cannot resolve: {d:?}", name(case)));
    let current: KernelState = serde_json::from_str(&read(case, "current.json"))
        .unwrap_or_else(|e| panic!("{}: current.json: {e}", name(case)));
    (desired, current)
}

fn render(result: &Result<Plan, PlanError>) -> String {
    match result {
        Ok(p) => p.to_string(),
        Err(e) => format!("error: {e}\n"),
    }
}

/// Every case with its desired network, state and plan result.
fn all() -> Vec<(String, DesiredNetwork, KernelState, Result<Plan, PlanError>)> {
    cases()
        .iter()
        .map(|c| {
            let (d, s) = load(c);
            let p = plan::plan(&d, &s);
            (name(c), d, s, p)
        })
        .collect()
}

#[test]
fn golden_plans() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut mismatches = Vec::new();
    for case in cases() {
        let (d, s) = load(&case);
        let got = render(&plan::plan(&d, &s));
        let path = case.join("expected.plan");
        if update {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if got != want {
            mismatches.push(format!(
                "--- {} expected\n{want}--- got\n{got}",
                name(&case)
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} golden plan(s) differ (UPDATE_GOLDEN=1 rewrites them):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn there_are_enough_cases_of_every_outcome() {
    let all = all();
    assert!(all.len() >= 25, "only {} cases", all.len());
    let empty = all
        .iter()
        .filter(|c| matches!(&c.3, Ok(p) if p.is_empty()))
        .count();
    let errors = all.iter().filter(|c| c.3.is_err()).count();
    assert!(empty >= 5, "{empty} in-sync cases");
    assert!(errors >= 4, "{errors} error cases");
}

#[test]
fn plan_is_empty_exactly_when_every_check_row_passes() {
    for (case, d, s, p) in all() {
        let rows = check::check(&d, &s);
        let failing: Vec<String> = check::failures(&rows).map(|r| r.to_string()).collect();
        let empty = matches!(&p, Ok(p) if p.is_empty());
        assert_eq!(
            empty,
            failing.is_empty(),
            "{case}: plan {}, failing rows {failing:#?}",
            render(&p)
        );
    }
}

#[test]
fn plans_are_accepted_by_the_kernel_model_and_converge() {
    for (case, d, s, p) in all() {
        let Ok(p) = p else { continue };
        let mut after = s.clone();
        simulate::apply_all(&mut after, &p.ops).unwrap_or_else(|e| panic!("{case}: {e}"));
        let failing: Vec<String> = check::failures(&check::check(&d, &after))
            .map(|r| r.to_string())
            .collect();
        assert!(failing.is_empty(), "{case}: after the plan: {failing:#?}");
        let again = plan::plan(&d, &after).unwrap_or_else(|e| panic!("{case}: replan: {e}"));
        assert!(again.is_empty(), "{case}: replan is not empty:\n{again}");
    }
}

/// An op as a confirmed change's journal keeps it (JSON) reads back the
/// same; its `op` tag, for the coverage count.
fn round_trip(op: &Op) -> String {
    let json = serde_json::to_value(op).unwrap();
    let back: Op = serde_json::from_value(json.clone())
        .unwrap_or_else(|e| panic!("{op}: {json} does not read back: {e}"));
    assert_eq!(&back, op, "{json}");
    json["op"].as_str().unwrap().to_owned()
}

#[test]
fn undo_log_run_backwards_restores_the_state() {
    let mut kinds = std::collections::BTreeSet::new();
    for (case, _, s, p) in all() {
        let Ok(p) = p else { continue };
        let mut state = s.clone();
        let mut log: Vec<Vec<Op>> = Vec::new();
        for op in &p.ops {
            log.push(inverse(op, &state).unwrap_or_else(|e| panic!("{case}: {e}")));
            simulate::apply(&mut state, op).unwrap_or_else(|e| panic!("{case}: {op}: {e}"));
        }
        for op in p.ops.iter().chain(log.iter().flatten()) {
            kinds.insert(round_trip(op));
        }
        for undo in log.iter().rev() {
            simulate::apply_all(&mut state, undo).unwrap_or_else(|e| panic!("{case}: undo: {e}"));
        }
        assert_eq!(normalized(&state), normalized(&s), "{case}");
        // No case deletes a link that holds foreign addresses: the undo of
        // that re-adds them as the kernel held them, every one of these.
        for a in &s.addresses {
            kinds.insert(round_trip(&Op::RestoreAddress { address: a.clone() }));
        }
    }
    // Every kind of op a plan or its undo log holds was read back.
    assert_eq!(kinds.len(), OP_KINDS, "{kinds:?}");
}

/// How many kinds of [`Op`] there are.
const OP_KINDS: usize = 18;

/// Why an op of `plan` touches something n3xnet neither declares nor owns.
fn trespass(d: &DesiredNetwork, s: &KernelState, plan: &Plan) -> Option<String> {
    let declared = |n: &str| {
        d.links.iter().any(|l| {
            l.name == n
                || matches!(&l.kind, n3xnet::desired::LinkKind::Bond(o) if o.members.iter().any(|m| m == n))
        })
    };
    let mut state = s.clone();
    for op in &plan.ops {
        let owned = |n: &str| state.link(n).is_some_and(|l| l.is_owned());
        let ok = match op {
            Op::DeleteAddress { link, address } => state
                .addresses
                .iter()
                .any(|a| a.link == *link && a.address == *address && a.is_owned()),
            Op::DeleteRoute { route } => state
                .routes
                .iter()
                .any(|r| simulate::route_key(r).as_ref() == Some(route) && r.is_owned()),
            Op::ReleasePort { port } => state
                .link(port)
                .and_then(|p| p.master.as_deref())
                .is_some_and(|m| declared(m) || owned(m)),
            Op::DeleteLink { name } => owned(name) || declared(name),
            other => declared(other.link()),
        };
        if !ok {
            return Some(format!("`{op}` touches what n3xnet does not own"));
        }
        simulate::apply(&mut state, op).unwrap();
    }
    None
}

#[test]
fn plans_touch_only_what_n3xnet_declares_or_owns() {
    for (case, d, s, p) in all() {
        let Ok(p) = p else { continue };
        assert_eq!(trespass(&d, &s, &p), None, "{case}");
    }
}

#[test]
fn plan_json_has_one_tagged_object_per_op() {
    for (case, _, _, p) in all() {
        let Ok(p) = p else { continue };
        let v = serde_json::to_value(&p).unwrap();
        let ops = v["ops"].as_array().unwrap_or_else(|| panic!("{case}: {v}"));
        assert_eq!(ops.len(), p.ops.len(), "{case}");
        assert!(ops.iter().all(|o| o["op"].is_string()), "{case}: {v}");
        assert!(
            p.ops.iter().all(|o| !o.to_string().contains('\n')),
            "{case}"
        );
    }
}

/// The state up to what undo cannot give back: ifindexes of recreated
/// links, runtime status, and the order of the kernel's lists; and the group
/// of a link with n3xnet's alias: undo recreates a deleted link as n3xnet
/// creates every link, in its group, also one an older n3xnet marked with
/// the alias alone (as these cases' states are), and both mean the same.
fn normalized(s: &KernelState) -> serde_json::Value {
    let mut s = s.clone();
    for l in &mut s.links {
        if l.is_owned() {
            l.group = 0;
        }
        l.index = 0;
        l.carrier = false;
        l.operstate = n3xnet::state::OperState::Unknown;
        l.bond_port = None;
        if let n3xnet::state::LinkInfo::Bond(b) = &mut l.info {
            b.active_port = None;
            b.ad_info = None;
        }
    }
    s.links.sort_by(|a, b| a.name.cmp(&b.name));
    s.addresses
        .sort_by_key(|a| serde_json::to_string(a).unwrap());
    s.routes.sort_by_key(|r| serde_json::to_string(r).unwrap());
    serde_json::to_value(&s).unwrap()
}

/// The Ok cases, loaded once for the property test.
fn seeds() -> &'static [(String, DesiredNetwork, KernelState)] {
    static SEEDS: std::sync::OnceLock<Vec<(String, DesiredNetwork, KernelState)>> =
        std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        all()
            .into_iter()
            .filter(|c| c.3.is_ok())
            .map(|(n, d, s, _)| (n, d, s))
            .collect()
    })
}

/// An op the kernel could see from someone else (or a crash half-way
/// through an apply), chosen by `(kind, a, b)` among what `s` holds.
fn disturbance(
    d: &DesiredNetwork,
    s: &KernelState,
    (kind, a, b): (u8, usize, usize),
) -> Option<Vec<Op>> {
    use n3xnet::state::{Address, LinkInfo};
    let pick = |names: Vec<String>| -> Option<String> {
        (!names.is_empty()).then(|| names[a % names.len()].clone())
    };
    let links = || s.links.iter().map(|l| l.name.clone()).collect::<Vec<_>>();
    let name = |filter: &dyn Fn(&n3xnet::state::Link) -> bool| {
        pick(
            s.links
                .iter()
                .filter(|l| filter(l))
                .map(|l| l.name.clone())
                .collect(),
        )
    };
    if kind == 14 {
        // A crash between the two requests of a create: a declared link
        // made again, in n3xnet's group but without its alias.
        let ours: Vec<_> = s
            .links
            .iter()
            .filter(|l| l.is_owned() && d.link(&l.name).is_some())
            .collect();
        let l = ours.get(a % ours.len().max(1))?;
        let name = l.name.clone();
        return Some(vec![
            Op::DeleteLink { name: name.clone() },
            Op::CreateLink {
                name: name.clone(),
                kind: n3xnet::plan::kind::kind_of(s, l).ok()?,
                mtu: Some(l.mtu),
                mac: l.mac,
            },
            Op::SetAlias { name, alias: None },
        ]);
    }
    if kind % 14 == 13 {
        // A mode change by hand: empty the bond, take it down, set the mode.
        let bond = name(&|l| matches!(l.info, LinkInfo::Bond(_)))?;
        let mut ops: Vec<Op> = n3xnet::plan::topology::ports(s, &bond)
            .map(|p| Op::ReleasePort {
                port: p.name.clone(),
            })
            .collect();
        ops.push(Op::SetDown { name: bond.clone() });
        ops.push(Op::SetBondOptions {
            bond,
            changes: vec![n3xnet::plan::BondChange::Mode(
                [
                    n3xnet::kinds::BondMode::Lacp,
                    n3xnet::kinds::BondMode::BalanceXor,
                    n3xnet::kinds::BondMode::ActiveBackup,
                ][b % 3],
            )],
        });
        return Some(ops);
    }
    Some(vec![match kind % 13 {
        0 => Op::SetDown {
            name: pick(links())?,
        },
        1 => Op::SetUp {
            name: pick(links())?,
        },
        2 => Op::SetMtu {
            name: pick(links())?,
            mtu: [1400, 1500, 9000][b % 3],
        },
        3 => Op::ReleasePort {
            port: name(&|l| l.master.is_some())?,
        },
        4 => {
            let a = s.addresses.get(a % s.addresses.len().max(1))?;
            Op::DeleteAddress {
                link: a.link.clone(),
                address: a.address,
            }
        }
        5 => Op::RestoreAddress {
            address: Address {
                link: pick(links())?,
                // A foreign address of either family.
                address: if b % 2 == 0 {
                    format!("172.16.{}.{}/24", b % 200, 1 + a % 200)
                } else {
                    format!("fd00:{:x}::{:x}/64", b % 200, 1 + a % 200)
                }
                .parse()
                .unwrap(),
                valid_lifetime: None,
                preferred_lifetime: None,
                protocol: 0,
                dad: None,
            },
        },
        6 => Op::DeleteLink {
            name: name(&|l| l.is_owned())?,
        },
        7 => Op::SetBondOptions {
            bond: name(&|l| matches!(l.info, LinkInfo::Bond(_)))?,
            changes: vec![n3xnet::plan::BondChange::Miimon([50, 100, 250][b % 3])],
        },
        8 => Op::EnableIpv6Auto {
            name: pick(links())?,
            regenerate: false,
        },
        9 => {
            let r = s
                .routes
                .iter()
                .filter(|r| r.protocol != 2)
                .nth(a % s.routes.len().max(1))?;
            Op::DeleteRoute {
                route: simulate::route_key(r)?,
            }
        }
        11 => Op::SetMaster {
            port: name(&|l| {
                matches!(l.info, LinkInfo::Ethernet) && l.master.is_none() && l.name != "lo"
            })?,
            bond: pick(
                s.links
                    .iter()
                    .filter(|l| matches!(l.info, LinkInfo::Bond(_)))
                    .map(|l| l.name.clone())
                    .collect(),
            )?,
        },
        12 => Op::CreateLink {
            name: format!("vlan{}", 1 + b % 50),
            kind: n3xnet::desired::LinkKind::Vlan {
                parent: pick(links())?,
                id: 1 + (b % 50) as u16,
            },
            mtu: None,
            mac: None,
        },
        _ => Op::SetMacvlanMode {
            name: name(&|l| matches!(l.info, LinkInfo::Macvlan { .. }))?,
            mode: [
                n3xnet::kinds::MacvlanMode::Private,
                n3xnet::kinds::MacvlanMode::Vepa,
                n3xnet::kinds::MacvlanMode::Bridge,
            ][b % 3],
        },
    }])
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// From any state reachable by disturbing a golden case, the plan is
    /// accepted, converges, agrees with check, and its undo log restores
    /// the disturbed state.
    #[test]
    fn disturbed_states_are_planned_back_and_undone(
        seed in 0usize..1000,
        moves in proptest::collection::vec((0u8..15, 0usize..64, 0usize..64), 1..8),
    ) {
        let (case, d, s0) = &seeds()[seed % seeds().len()];
        let mut s = s0.clone();
        let mut done = Vec::new();
        for m in moves {
            if let Some(ops) = disturbance(d, &s, m) {
                if simulate::apply_all(&mut s, &ops).is_ok() {
                    done.extend(ops.iter().map(Op::to_string));
                }
            }
        }
        let p = plan::plan(d, &s).map_err(|e| format!("{case} after {done:?}: {e}")).unwrap();
        proptest::prop_assert_eq!(trespass(d, &s, &p), None, "{} after {:?}", case, done);
        let failing = check::failures(&check::check(d, &s)).count();
        proptest::prop_assert_eq!(p.is_empty(), failing == 0, "{} after {:?}", case, done);

        let mut t = s.clone();
        let mut log = Vec::new();
        for op in &p.ops {
            log.push(inverse(op, &t).map_err(|e| format!("{case} after {done:?}: {e}")).unwrap());
            simulate::apply(&mut t, op).unwrap();
        }
        for op in p.ops.iter().chain(log.iter().flatten()) {
            round_trip(op);
        }
        let rows = check::check(d, &t);
        let left: Vec<String> = check::failures(&rows).map(|r| r.to_string()).collect();
        proptest::prop_assert!(left.is_empty(), "{} after {:?}: {:?}\n{}", case, done, left, p);
        proptest::prop_assert!(plan::plan(d, &t).unwrap().is_empty());
        for undo in log.iter().rev() {
            simulate::apply_all(&mut t, undo).unwrap();
        }
        proptest::prop_assert_eq!(normalized(&t), normalized(&s), "{} after {:?}", case, done);
    }
}
