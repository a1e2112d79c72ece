#!/usr/bin/env bash
# Packages the Lambda functions for the `provided.al2023` runtime: each binary is built with
# the `lambda` profile (release, stripped) and zipped as `bootstrap` into
# target/lambda/<arch>/<function>/bootstrap.zip. Beside them goes a copy of
# infra/template.yaml whose functions are declared for <arch>: target/lambda/<arch>/ is the
# bundle infra/deploy.sh deploys (the template's CodeUri paths are relative to it).
#
#   scripts/package-lambda.sh [x86_64|arm64]...     (default: x86_64)
#
# Uses `cargo lambda build` (cargo-lambda from PyPI, installed by scripts/services.sh setup-python)
# with the plain cargo backend. x86_64 builds natively; the binary must not need a glibc newer
# than Amazon Linux 2023's (2.34), which is checked. arm64 cross-compiles for Graviton: it adds
# the aarch64-unknown-linux-gnu Rust target with rustup when missing, and links with
# cargo-lambda's zig backend (the ziglang wheel, a dependency of cargo-lambda); where either is
# out of reach the script says so and stops. Each binary's architecture and the newest glibc
# symbol version it needs are checked (readelf).
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
TOOLS="${SYNCLAKE_TOOLS:-$REPO/.tools}"
scripts/services.sh setup-python
CARGO_LAMBDA="$TOOLS/venv/bin/cargo-lambda"
FUNCTIONS=(stream-to-parquet sync-trigger bulk-publish)
AL2023_GLIBC="2.34"

archs=("$@")
[[ ${#archs[@]} -gt 0 ]] || archs=(x86_64)
for arch in "${archs[@]}"; do
  case "$arch" in
    x86_64) target=x86_64-unknown-linux-gnu; flags=(--x86-64 --compiler cargo) ;;
    arm64)
      target=aarch64-unknown-linux-gnu
      if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
        echo "package-lambda: arm64: adding the $target Rust target" >&2
        rustup target add "$target" || {
          echo "package-lambda: arm64: could not add the $target Rust target (rustup target add $target)" >&2
          exit 1
        }
      fi
      "$TOOLS/venv/bin/python" -c "import ziglang" 2>/dev/null || {
        echo "package-lambda: arm64: cross-linking needs cargo-lambda's zig backend (the ziglang wheel in $TOOLS/venv)" >&2
        exit 1
      }
      # cargo-zigbuild finds zig as `python3 -m ziglang`: the venv's python3 has it
      export PATH="$TOOLS/venv/bin:$PATH"
      flags=(--arm64 --compiler cargo-zigbuild) ;;
    *) echo "package-lambda: unknown architecture $arch (x86_64, arm64)" >&2; exit 1 ;;
  esac
  out="target/lambda/$arch"
  # The bundle holds this build's artefacts only.
  rm -rf "$out"
  bins=()
  for f in "${FUNCTIONS[@]}"; do bins+=(--bin "$f"); done
  "$CARGO_LAMBDA" lambda build --profile lambda "${flags[@]}" --output-format zip \
    --lambda-dir "$out" -p synclake-lambda "${bins[@]}"
  for f in "${FUNCTIONS[@]}"; do
    zip="$out/$f/bootstrap.zip"
    [[ -f "$zip" ]] || { echo "package-lambda: $zip was not produced" >&2; exit 1; }
    bin="target/$target/lambda/$f"
    [[ -x "$bin" ]] || bin="target/lambda/$f"
    if [[ -x "$bin" ]] && command -v readelf >/dev/null; then
      machine="$(readelf -h "$bin" | awk -F': *' '/Machine:/ { print $2 }')"
      case "$arch/$machine" in
        x86_64/*X86-64*|arm64/AArch64) ;;
        *) echo "package-lambda: $f: built for '$machine', not $arch" >&2; exit 1 ;;
      esac
      need="$(readelf --dyn-syms -W "$bin" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)"
      if [[ "$(printf '%s\n%s\n' "$need" "$AL2023_GLIBC" | sort -V | tail -1)" != "$AL2023_GLIBC" ]]; then
        echo "package-lambda: $f needs glibc $need, newer than Amazon Linux 2023's $AL2023_GLIBC" >&2
        exit 1
      fi
      echo "package-lambda: $f ($arch, $machine): $(du -h "$zip" | cut -f1) zipped, needs glibc $need (AL2023 has $AL2023_GLIBC)"
    else
      echo "package-lambda: $f ($arch): $(du -h "$zip" | cut -f1) zipped (binary not found beside it: not checked)"
    fi
  done
  # The bundle's template: the same, its functions built for this architecture.
  line="    Architectures: [x86_64]  # the bundle's architecture: set by scripts/package-lambda.sh"
  grep -qxF "$line" infra/template.yaml || {
    echo "package-lambda: infra/template.yaml has no Globals Architectures line to set" >&2
    exit 1
  }
  while IFS= read -r l || [[ -n "$l" ]]; do
    [[ "$l" == "$line" ]] && l="${line/x86_64/$arch}"
    printf '%s\n' "$l"
  done < infra/template.yaml > "$out/template.yaml"
  echo "package-lambda: $out/template.yaml (functions for $arch): deploy with infra/deploy.sh --arch $arch"
done
