{
  description = "Yoi Workspace Runtime: long-lived LLM agent sessions across machines";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    flake-utils.url = "github:numtide/flake-utils";
  };

  outputs = { self, nixpkgs, flake-utils }:
    flake-utils.lib.eachDefaultSystem (system:
      let
        pkgs = import nixpkgs { inherit system; };
        manifest = (pkgs.lib.importTOML ./Cargo.toml).workspace.package;
      in
      {
        packages.default = pkgs.rustPlatform.buildRustPackage {
          pname = "yoi-workspace-runtime";
          version = manifest.version;
          src = pkgs.lib.cleanSource ./.;
          cargoLock.lockFile = ./Cargo.lock;
          # The contract and property tests run in `scripts/test`; the build checks that everything compiles.
          cargoTestFlags = [ "--workspace" ];
          doCheck = false;
          meta = {
            description = manifest.description or "Yoi Workspace Runtime";
            license = pkgs.lib.licenses.asl20;
          };
        };

        devShells.default = pkgs.mkShell {
          inputsFrom = [ self.packages.${system}.default ];
          packages = with pkgs; [
            cargo
            rustc
            clippy
            rustfmt
            rust-analyzer
            cargo-nextest
          ];
        };
      });
}
