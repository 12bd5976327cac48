{
  description = "n3xnet: the on-node network supervisor of n3x edge Kubernetes nodes";

  # No flake.lock is committed yet: it can only be created where nixpkgs is reachable
  # (`nix flake lock`); n3x pins its own nixpkgs anyway (inputs.n3xnet.inputs.nixpkgs.follows).
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-25.11";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f system nixpkgs.legacyPackages.${system});

      # The module, with the package defaulting to this flake's (nixpkgs has no n3xnet).
      module =
        { lib, pkgs, ... }:
        {
          imports = [ ./nix/module.nix ];
          services.n3xnet.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.n3xnet;
        };
    in
    {
      packages = forAllSystems (
        system: pkgs:
        let
          n3xnet = pkgs.callPackage ./nix/package.nix { };
        in
        {
          default = n3xnet;
          inherit n3xnet;
        }
        // lib.optionalAttrs (system == "x86_64-linux") {
          # Jetson (aarch64) from an x86_64 builder.
          n3xnet-aarch64-cross = pkgs.pkgsCross.aarch64-multiplatform.callPackage ./nix/package.nix { };
        }
      );

      overlays.default = final: _prev: { n3xnet = final.callPackage ./nix/package.nix { }; };

      nixosModules = {
        default = module;
        n3xnet = module;
      };

      checks.x86_64-linux =
        let
          pkgs = nixpkgs.legacyPackages.x86_64-linux;
        in
        {
          # The module in a real NixOS evaluation (bonding-vlans server-1 over a module that
          # turns networkd on): the generated files pass n3xnet's own checks, the units carry
          # the drop-ins, networkd is off.
          module-eval = import ./nix/tests/module-eval.nix { inherit self nixpkgs pkgs; };
          # A VM: bond0, bond0.200 with 192.168.200.1, n3xnet-wait-online reached.
          vm-bonding-vlans = pkgs.testers.runNixOSTest (import ./nix/tests/bonding-vlans.nix { inherit self; });
        };
    };
}
