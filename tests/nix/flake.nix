# The flake's outputs, evaluated with stub inputs (no nixpkgs here): nixpkgs = the vendored
# lib plus stub package sets whose callPackage records what it was called with. Returns the
# attribute names of every output and what the stubs saw; tests/nixos_module.rs checks them.
#   nix-instantiate --eval --strict --json tests/nix/flake.nix --argstr vendor ../shared/vendor
{ vendor }:
let
  lib = import (/. + vendor + "/nixpkgs-lib/lib");
  flake = import ../../flake.nix;

  stubPkgs = system: {
    callPackage = fn: args: {
      stub = "callPackage";
      inherit system;
      file = toString fn;
      type = "derivation";
      name = "n3xnet";
      outPath = "/nix/store/00000000000000000000000000000000-n3xnet-${system}";
    };
    pkgsCross.aarch64-multiplatform.callPackage = fn: args: {
      stub = "pkgsCross.aarch64-multiplatform.callPackage";
      inherit system;
      file = toString fn;
    };
    testers.runNixOSTest = test: {
      stub = "runNixOSTest";
      inherit test;
    };
    stdenv.hostPlatform.system = system;
  };
  nixpkgs = {
    inherit lib;
    legacyPackages = lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] stubPkgs;
  };
  self = flake.outputs { inherit self nixpkgs; } // {
    outPath = toString ../..;
  };
  names = lib.mapAttrs (_: builtins.attrNames);

  # The flake's module over the stub options: its package default must be self's.
  moduleEval = lib.evalModules {
    modules = [
      ./stubs.nix
      self.nixosModules.default
      { services.n3xnet.enable = true; }
    ];
  };
  vmTest = self.checks.x86_64-linux.vm-bonding-vlans.test;
  # The VM test's node over the stub options (plus the test driver's NIC option).
  vmNode =
    (lib.evalModules {
      modules = [
        ./stubs.nix
        { options.virtualisation.interfaces = lib.mkOption { type = lib.types.attrsOf lib.types.anything; }; }
        vmTest.nodes.server
      ];
    }).config;
in
{
  inputs = builtins.attrNames flake.inputs;
  outputs = builtins.attrNames (builtins.removeAttrs self [ "outPath" ]);
  packages = names self.packages;
  checks = names self.checks;
  nixosModules = builtins.attrNames self.nixosModules;
  overlays = builtins.attrNames self.overlays;
  packageCalls = lib.mapAttrs (
    _: ps: lib.mapAttrs (_: p: { inherit (p) stub system file; }) ps
  ) self.packages;
  overlay = (self.overlays.default (stubPkgs "x86_64-linux") { }).n3xnet.file;
  modulePackage = moduleEval.config.services.n3xnet.package.outPath;
  vmTest = {
    inherit (vmTest) name;
    nodes = builtins.attrNames vmTest.nodes;
    hasScript = builtins.isString vmTest.testScript;
    failedAssertions = map (a: a.message) (builtins.filter (a: !a.assertion) vmNode.assertions);
    etc = builtins.attrNames vmNode.environment.etc;
    networkd = vmNode.systemd.network.enable;
  };
}
