#!/usr/bin/env bash
# vendor/parquet must be the parquet crate exactly as published on crates.io, plus the patches
# in vendor/parquet-patches (applied in file-name order), and the workspace must use it:
#
#   1. Cargo.lock resolves `parquet` to vendor/parquet (the [patch.crates-io] entry is in use),
#      and parquet and every arrow-* crate to the version the patches are for;
#   2. the published crate is fetched through a throwaway manifest in a temporary directory
#      (the workspace's Cargo.lock is not touched) and its checksum compared with the one
#      below, which is crates.io's;
#   3. the patches are applied to a copy of it, each exactly (no fuzz, `git apply`);
#   4. that copy must equal vendor/parquet file for file (`diff -r`; only build output,
#      `target/`, is ignored).
#
#   scripts/check-vendored-parquet.sh
#
# Takes a few seconds (one `cargo fetch`, mostly cached). To move to another version or
# change a patch: vendor/parquet-patches/README.md.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# The published crate the patches apply to: version and crates.io's sha256 of the .crate file.
VERSION=60.2.0
SHA256=6701f0dd63f5ee23a0f1f2865ff76825c301759d6ab649e3e5686cc32d066957

VENDORED="$REPO/vendor/parquet"
PATCHES="$REPO/vendor/parquet-patches"

fail() {
  {
    echo
    echo "check-vendored-parquet: FAILED: $1"
    shift
    for line in "$@"; do echo "  $line"; done
    echo "  (see vendor/parquet-patches/README.md)"
  } >&2
  exit 1
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# 1. What the workspace resolves. `cargo metadata --locked` resolves the manifests afresh and
# fails when Cargo.lock would change (as when the pin no longer matches the patched crate, whose
# [patch.crates-io] entry then goes unused); `cargo pkgid` reads what Cargo.lock holds.
if ! out="$(cd "$REPO" && cargo metadata --locked --format-version 1 2>&1 >/dev/null)"; then
  fail "Cargo.lock does not hold what the manifests ask for (cargo metadata --locked):" "$out"
fi
pkgid="$(cd "$REPO" && cargo pkgid --locked parquet)" ||
  fail "cargo could not find the one parquet of the workspace (cargo pkgid parquet)"
if [[ "$pkgid" != path+file://*/vendor/parquet#"$VERSION" ]]; then
  fail "the workspace does not build against vendor/parquet $VERSION" \
    "cargo pkgid parquet: $pkgid" \
    "expected:            path+file://$VENDORED#$VERSION" \
    "The [patch.crates-io] entry is unused when the pin in [workspace.dependencies] names another" \
    "version: upgrade by updating vendor/parquet and its patches, then the pin, together."
fi
# name<TAB>version of every parquet and arrow* package in Cargo.lock.
mismatched="$(awk -v want="$VERSION" '
  /^\[\[package\]\]/ { name = "" }
  /^name = / { gsub(/"/, "", $3); name = $3 }
  /^version = / { gsub(/"/, "", $3); if ((name == "parquet" || name ~ /^arrow(-|$)/) && $3 != want) print name " " $3 }
' "$REPO/Cargo.lock")"
if [[ -n "$mismatched" ]]; then
  mapfile -t mismatched <<<"$mismatched"
  fail "Cargo.lock holds arrow/parquet crates at another version than $VERSION (they move together):" \
    "${mismatched[@]}"
fi

# 2. The published crate.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/fetch/src"
: >"$tmp/fetch/src/lib.rs"
cat >"$tmp/fetch/Cargo.toml" <<EOF
# Throwaway manifest of scripts/check-vendored-parquet.sh: fetches the published parquet.
[package]
name = "check-vendored-parquet"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
parquet = { version = "=$VERSION", default-features = false }

[workspace]
EOF
host="$(rustc -vV | sed -n 's/^host: //p')"
(cd "$tmp/fetch" && cargo fetch --quiet --target "$host") ||
  fail "cargo fetch of parquet $VERSION from crates.io failed (network?)"
locked="$(grep -A3 '^name = "parquet"$' "$tmp/fetch/Cargo.lock" | sed -n 's/^checksum = "\(.*\)"$/\1/p')"
if [[ "$locked" != "$SHA256" ]]; then
  fail "crates.io's checksum of parquet $VERSION is not the one this check expects" \
    "registry: $locked" "expected: $SHA256"
fi
crate=""
for candidate in "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/"parquet-$VERSION.crate"; do
  if [[ -f "$candidate" && "$(sha256 "$candidate")" == "$SHA256" ]]; then
    crate="$candidate"
    break
  fi
done
[[ -n "$crate" ]] || fail "no parquet-$VERSION.crate with sha256 $SHA256 in ${CARGO_HOME:-$HOME/.cargo}/registry/cache"

# 3. Published + patches.
expected="$tmp/parquet-$VERSION+patches"
mkdir "$expected"
tar -xzf "$crate" -C "$expected" --strip-components=1
shopt -s nullglob
patches=("$PATCHES"/[0-9][0-9][0-9][0-9]-*.patch)
((${#patches[@]} > 0)) || fail "no patches in vendor/parquet-patches"
for patch in "${patches[@]}"; do
  # The ceiling keeps git from taking an enclosing repository (TMPDIR inside one) as the root.
  if ! out="$(cd "$expected" && GIT_CEILING_DIRECTORIES="$tmp" git apply -p1 "$patch" 2>&1)"; then
    fail "${patch#"$REPO"/} does not apply exactly to the published parquet $VERSION (or after the patches before it):" \
      "$out"
  fi
done

# 4. The vendored tree.
mkdir "$tmp/vendor"
ln -s "$VENDORED" "$tmp/vendor/parquet" # so that the diff names vendor/parquet/...
if ! out="$(cd "$tmp" && diff -r -u -x target "$(basename "$expected")" vendor/parquet 2>&1)"; then
  echo "$out" | head -n 300 >&2
  fail "vendor/parquet differs from the published parquet $VERSION plus vendor/parquet-patches/*.patch" \
    "The diff above reads from published+patches (-) to vendor/parquet (+): every change to the" \
    "vendored crate belongs in a patch file."
fi

echo "check-vendored-parquet: vendor/parquet = parquet $VERSION (crates.io) + ${#patches[@]} patches; workspace uses it" >&2
