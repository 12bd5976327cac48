"""tests/vm/run: argument parsing, preparation per architecture, scheduling by VM slots,
the report."""

import argparse
import glob
import io
import os
import shutil
import subprocess
import sys
import threading
import time
import unittest

from . import apt, initramfs, kernel, rootfs, scenario
from .arch import ARCHES, host_deb_arch
from .elf import Elf
from .errors import PrereqError, ScenarioError
from .runner import Env, Result, run_scenario
from .util import locked, need_tool, say

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TAIL_LINES = 40


def main(argv):
    p = argparse.ArgumentParser(prog="tests/vm/run", description="n3xnet VM test tier")
    p.add_argument("--arch", choices=["x86_64", "aarch64", "all"], default="all",
                   help="only runs on this architecture (default: each scenario's @arch)")
    p.add_argument("--jobs", type=int, default=int(os.environ.get("N3XNET_VM_JOBS", "0")),
                   help="VMs at once (default: number of cores)")
    p.add_argument("--keep-logs", action="store_true",
                   help="keep the logs of passing runs too")
    p.add_argument("--list", action="store_true", help="list scenarios and exit")
    p.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    args = p.parse_args(argv)
    t0 = time.monotonic()
    if not unit_tests_pass():
        return 2

    try:
        all_sc = scenario.load_all()
        picked = ([scenario.load(n) for n in args.scenarios] if args.scenarios
                  else [sc for sc in all_sc if not sc.bench])
    except ScenarioError as e:
        print(f"tests/vm: ERROR: {e}", file=sys.stderr)
        return 2
    skipped = 0
    if args.arch == "all" and os.environ.get("N3XNET_SKIP_CROSS") == "1":
        # scripts/test's developer quick loop (never in CI): no aarch64 at all.
        skipped = sum("aarch64" in sc.arches for sc in picked)
        args.arch = "x86_64"
        say(f"N3XNET_SKIP_CROSS=1: {skipped} aarch64 runs SKIPPED (CI runs them)")
    jobs = [(sc, a) for sc in picked for a in sc.arches if args.arch in ("all", a)]
    if args.list:
        for sc, a in jobs:
            print(f"{sc.name} [{a}] vms={','.join(sc.vms)} timeout={sc.timeout:.0f}s")
        return 0
    if not jobs:
        print("tests/vm: ERROR: no scenario selected", file=sys.stderr)
        return 2

    logs = os.environ.get("N3XNET_VM_LOGS", os.path.join(REPO, "target", "vm-logs"))
    with locked(os.path.join(logs, ".lock"), "another tests/vm/run uses " + logs):
        return run_jobs(args, jobs, logs, skipped, t0)


def run_jobs(args, jobs, logs, skipped, t0):
    try:
        envs = prepare(sorted({a for _, a in jobs}), jobs, logs)
    except PrereqError as e:
        print(f"tests/vm: ERROR: prerequisite missing: {e}", file=sys.stderr)
        for sc, a in jobs:
            print(f"FAIL {sc.name} [{a}] (not run: prerequisite missing)")
        print(f"0 passed, {len(jobs)} failed")
        return 2
    say(f"prepared in {time.monotonic() - t0:.1f}s; running {len(jobs)} scenario runs")

    # One TCG VM keeps one core busy: never more VMs than the cores we may use.
    slots = args.jobs if args.jobs > 0 else len(os.sched_getaffinity(0))
    results = schedule(jobs, envs, slots)

    print("\n==== VM tier results ====")
    for r in results:
        extra = " ".join(f"{k}={v}" for k, v in sorted(r.metrics.items()))
        print(f"{'PASS' if r.ok else 'FAIL'} {r.label:28} {r.seconds:6.1f}s  {extra}".rstrip())
    for r in results:
        if r.ok and not args.keep_logs:
            shutil.rmtree(r.logdir, ignore_errors=True)
    passed = sum(r.ok for r in results)
    print(f"VM tier wall time {time.monotonic() - t0:.1f}s on {slots} VM slots")
    print(f"{passed} passed, {len(results) - passed} failed"
          + (f", {skipped} skipped" if skipped else ""))
    return 0 if passed == len(results) else 1


def unit_tests_pass():
    """The harness's own unit tests (parsers), before any VM: ~50 ms."""
    suite = unittest.defaultTestLoader.loadTestsFromName("vmharness.test_units")
    stream = io.StringIO()
    result = unittest.TextTestRunner(stream=stream, verbosity=1).run(suite)
    if not result.wasSuccessful():
        print(stream.getvalue(), file=sys.stderr)
        print("tests/vm: ERROR: the harness's unit tests failed", file=sys.stderr)
        return False
    say(f"harness unit tests: {result.testsRun} passed")
    return True


def prepare(arches, jobs, logs):
    cache = os.environ.get("N3XNET_VM_CACHE", "/var/cache/n3xnet/vm")
    try:
        os.makedirs(cache, exist_ok=True)
    except OSError as e:
        raise PrereqError(f"cannot create the cache dir {cache}: {e} (set N3XNET_VM_CACHE)")
    for tool in ("apt-get", "apt-cache", "dpkg-deb", "depmod", "modprobe"):
        need_tool(tool)
    envs = {}
    specs = [ARCHES[a].spec(ARCHES[a].kernel_meta) for a in arches]
    specs += [ARCHES[a].spec(p) for a in arches for p in initramfs.FOREIGN_PACKAGES
              if ARCHES[a].deb != host_deb_arch()]
    apt.prefetch(specs)
    for a in arches:
        arch = ARCHES[a]
        need_tool(arch.qemu)
        t = time.monotonic()
        with locked(os.path.join(cache, ".lock"), "another run is preparing " + cache):
            k = kernel.prepare(arch, cache)
            land = initramfs.userland(arch, cache)
            initrd = initramfs.build(arch, k, land, cache)
            root = (rootfs.prepare(arch, cache)
                    if any(sc.systemd for sc, ja in jobs if ja == a) else None)
            keep = {k.path, land.root, initrd} | ({os.path.dirname(root)} if root else set())
            prune(os.path.join(cache, a), keep=keep)
        t_img = time.monotonic() - t
        needs = sorted({b for sc, ja in jobs if ja == a for b in sc.needs})
        bin_dir = stage_binaries(arch, needs, os.path.join(logs, a, ".bin"))
        say(f"{a}: kernel {k.kver} + initramfs ready in {t_img:.1f}s, binaries "
            f"{' '.join(needs) or '(none)'} in {time.monotonic() - t - t_img:.1f}s")
        envs[a] = Env(REPO, arch, k, initrd, bin_dir, logs, root)
    return envs


STALE_S = 6 * 3600


def prune(arch_dir, keep):
    """Drop cache entries of older kernels/packages, so the cache stays ~100 MB per
    architecture. Entries in use are touched on every run; another run (another clone)
    may still boot an entry it prepared hours ago, so only entries unused for STALE_S go."""
    keep = {os.path.relpath(p, arch_dir).split(os.sep)[0] for p in keep
            if p.startswith(arch_dir + os.sep)}
    now = time.time()
    for entry in os.listdir(arch_dir):
        path = os.path.join(arch_dir, entry)
        if entry in keep:
            os.utime(path)
        elif now - os.path.getmtime(path) > STALE_S:
            say(f"pruning stale cache entry {path}")
            if os.path.isdir(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.remove(path)


BIN_ENV = {"x86_64": "N3XNET_BIN_DIR", "aarch64": "N3XNET_BIN_DIR_AARCH64"}
# Debian's containernetworking-plugins (scenarios declare `# @needs cni/macvlan`).
CNI_PLUGINS = "/usr/lib/cni"


def bin_source(arch, bins):
    """Where ARCH's binaries come from. $N3XNET_BIN_DIR[_AARCH64] is used as is;
    otherwise they are built first (a no-op when up to date), so a run never tests a
    stale binary: `cargo build --bins` (debug), or cross/build-aarch64, whose last
    output line is its output dir. BINS naming `fault-injection/...` (x86_64 only,
    scenario.py) build scripts/build-fault-injection first, into the debug dir's
    fault-injection/ (its layout under $N3XNET_BIN_DIR too): it replaces the debug
    binaries with its own on the way, which the `cargo build --bins` after it puts back."""
    if BIN_ENV[arch.name] in os.environ:
        return os.environ[BIN_ENV[arch.name]]
    locked = ["--locked"] if os.environ.get("CI", "") not in ("", "0", "false", "no") else []
    if arch.name == "x86_64":
        if any(b.startswith(scenario.FAULT_DIR) for b in bins):
            say("building the fault-injection binaries: scripts/build-fault-injection")
            _build([os.path.join(REPO, "scripts", "build-fault-injection")] + locked)
        say("building the x86_64 binaries: cargo build --bins")
        _build(["cargo", "build", "--bins"] + locked)
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
        return os.path.join(target, "debug")
    say("building the aarch64 binaries: cross/build-aarch64")
    return _build([os.path.join(REPO, "cross", "build-aarch64")] + locked).splitlines()[-1]


def _build(cmd):
    proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    if proc.returncode != 0:
        raise PrereqError(f"{' '.join(cmd)} failed (exit {proc.returncode}):\n"
                          + "\n".join(proc.stderr.splitlines()[-30:]))
    return proc.stdout.strip()


def deb_source(arch):
    """The Debian package of ARCH that scripts/package built last: $N3XNET_DEB, or the
    newest n3xnet_*_<arch>.deb in ${CARGO_TARGET_DIR:-target}/debian (amd64). It is not
    built here: packaging needs cargo-deb and lintian, and scripts/test builds and checks
    it before the VM tier (a developer runs `scripts/package amd64` first)."""
    if "N3XNET_DEB" in os.environ:
        return os.environ["N3XNET_DEB"]
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    debs = glob.glob(os.path.join(target, "debian", f"n3xnet_*_{arch.deb}.deb"))
    if not debs:
        raise PrereqError(f"no n3xnet_*_{arch.deb}.deb in {target}/debian: run "
                          "`scripts/package amd64` first (or set N3XNET_DEB)")
    return max(debs, key=os.path.getmtime)


def stage_binaries(arch, needs, dest):
    """Copy the declared binaries into a dir of the run's own: a concurrent cargo build
    replacing target/debug/n3xnetctl must not change a binary under a running guest.
    `n3xnet.deb` is the package (deb_source), staged under that name; `cni/PLUGIN` is
    Debian's containernetworking-plugins binary, staged as cni/PLUGIN (the guest's
    CNI_PATH is /mnt/bin/cni; host architecture only: the x86_64 guest shares its libc)."""
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    bins = [n for n in needs if n != "n3xnet.deb" and not n.startswith("cni/")]
    if "n3xnet.deb" in needs:
        shutil.copy2(deb_source(arch), os.path.join(dest, "n3xnet.deb"))
    for name in (n for n in needs if n.startswith("cni/")):
        path = os.path.join(CNI_PLUGINS, name[len("cni/"):])
        if arch.deb != host_deb_arch() or not os.path.isfile(path):
            raise PrereqError(f"{arch.name} CNI plugin {path} not found: the plugins are the "
                              "host's (scripts/install-deps cni), for host-architecture guests")
        os.makedirs(os.path.join(dest, "cni"), exist_ok=True)
        shutil.copy2(path, os.path.join(dest, name))
    src = bin_source(arch, bins) if bins else None
    for name in bins:
        path = os.path.join(src, name)
        if not os.path.isfile(path):
            raise PrereqError(f"{arch.name} binary {path} not found")
        if Elf(path).machine != arch.elf_machine:
            raise PrereqError(f"{path} is not an {arch.name} binary")
        os.makedirs(os.path.dirname(os.path.join(dest, name)), exist_ok=True)
        shutil.copy2(path, os.path.join(dest, name))
    return dest


def schedule(jobs, envs, slots):
    """Run the jobs on SLOTS VM slots, heaviest first; a job takes one slot per VM."""
    pending = sorted(jobs, key=lambda j: (-len(j[0].vms), -j[0].timeout))
    results, free = [], [slots]
    cond = threading.Condition()

    def worker(sc, a, weight):
        r = run_scenario(sc, envs[a])
        report(r)
        with cond:
            results.append(r)
            free[0] += weight
            cond.notify_all()

    threads = []
    while pending:
        with cond:
            job = next((j for j in pending if min(len(j[0].vms), slots) <= free[0]), None)
            if job is None:
                cond.wait()
                continue
            pending.remove(job)
            weight = min(len(job[0].vms), slots)
            free[0] -= weight
        t = threading.Thread(target=worker, args=(job[0], job[1], weight))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    order = {(sc.name, a): i for i, (sc, a) in enumerate(jobs)}
    return sorted(results, key=lambda r: order[(r.scenario, r.arch)])


_print_lock = threading.Lock()


def report(r: Result):
    with _print_lock:
        print(f"{'PASS' if r.ok else 'FAIL'} {r.label} in {r.seconds:.1f}s", flush=True)
        if r.ok:
            if r.message:  # a self-test that failed as it should
                print(f"  {r.message[:300]}", flush=True)
            return
        print(f"  why: {r.message}")
        print(f"  logs: {r.logdir}")
        for f in sorted(os.listdir(r.logdir)):
            if f.endswith(".log"):
                with open(os.path.join(r.logdir, f), errors="replace") as fh:
                    lines = fh.readlines()
                print(f"  ---- last {min(TAIL_LINES, len(lines))} lines of {f} ----")
                sys.stdout.writelines("  " + line for line in lines[-TAIL_LINES:])
        sys.stdout.flush()
