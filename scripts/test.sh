#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs and starts the local services (moto for
# S3; DuckDB and pyarrow as table readers) on 127.0.0.1, runs the format check, the check of
# vendor/parquet against the published crate, the lint, every test, the boto3 conformance
# suite of `synclake local` and the checks of infra/ (cfn-lint, the Glue tables, the named
# queries, the Lambda bundles for x86_64 and arm64), and stops the services it started.
#
#   scripts/test.sh [extra cargo-nextest args]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

echo "== format" >&2
cargo fmt --all -- --check
echo "== vendored parquet (published crate + vendor/parquet-patches)" >&2
scripts/check-vendored-parquet.sh
echo "== lint" >&2
cargo clippy --workspace --all-targets -- -D warnings
echo "== fixtures (the reference decoder holds them to fixtures/README.md)" >&2
python3 fixtures/tools/verify.py

echo "== local services" >&2
scripts/services.sh setup
eval "$(scripts/services.sh start)"
trap 'scripts/services.sh stop' EXIT

echo "== tests" >&2
status=0
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@" || status=$?
  # nextest does not run doctests
  cargo test --workspace --doc || status=$?
else
  cargo test --workspace --no-fail-fast "$@" || status=$?
fi

echo "== conformance: boto3's cognito-sync client against synclake local" >&2
cargo build --quiet --bin synclake
"$SYNCLAKE_TEST_PYTHON" tests/conformance/run.py -q --synclake "${CARGO_TARGET_DIR:-$REPO/target}/debug/synclake" || status=$?

echo "== infra: cfn-lint, Glue tables against the schemas, named queries in DuckDB, Lambda bundles" >&2
scripts/package-lambda.sh x86_64 arm64 || status=$?
"$SYNCLAKE_TEST_PYTHON" infra/tests/run.py -q --synclake "${CARGO_TARGET_DIR:-$REPO/target}/debug/synclake" \
  --bundles "$REPO/target/lambda" --arch x86_64 --arch arm64 || status=$?
exit "$status"
