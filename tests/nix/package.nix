# nix/package.nix called with stubs (no nixpkgs here): buildRustPackage returns its
# arguments, so tests/nixos_module.rs can check them and run the postInstall script in a
# scratch $out with stand-ins for substituteInPlace, installManPage and installShellCompletion.
#   nix-instantiate --eval --strict --json tests/nix/package.nix --argstr vendor ../shared/vendor
{ vendor }:
let
  lib = import (/. + vendor + "/nixpkgs-lib/lib");
  args = import ../../nix/package.nix {
    inherit lib;
    rustPlatform.buildRustPackage = a: a;
    installShellFiles = "installShellFiles";
    coreutils = "/nix/store/00000000000000000000000000000000-coreutils";
    python3 = "python3";
    openssl = "openssl";
    curl = "curl";
  };
in
{
  inherit (args)
    pname
    version
    postInstall
    preCheck
    nativeBuildInputs
    nativeCheckInputs
    ;
  lockFile = toString args.cargoLock.lockFile;
  inherit (args.meta) mainProgram license;
}
