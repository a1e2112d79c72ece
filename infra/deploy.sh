#!/usr/bin/env bash
# Deploys synclake to AWS: packages the Lambda functions for the architecture (the bundle
# target/lambda/<arch>/, with its copy of infra/template.yaml) and runs `sam deploy` on it.
#
#   infra/deploy.sh [--arch x86_64|arm64] [sam deploy options...]
#
# The first time, add --guided: SAM asks for the stack name, region and parameters and keeps
# the answers in infra/samconfig.toml (not committed) for the next deploys. Needs the AWS SAM
# CLI (`pip install aws-sam-cli`) and credentials allowed to create the stack's resources.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
arch=x86_64
if [[ "${1:-}" == "--arch" ]]; then
  arch="${2:?--arch needs x86_64 or arm64}"
  shift 2
fi
command -v sam >/dev/null || {
  echo "deploy: the AWS SAM CLI is not installed (pip install aws-sam-cli)" >&2
  exit 1
}
scripts/package-lambda.sh "$arch"
bundle="$REPO/target/lambda/$arch"
# SAM refuses a --config-file that does not exist, even with --guided, which fills it.
config="$REPO/infra/samconfig.toml"
[[ -f "$config" ]] || printf 'version = 0.1\n' > "$config"
cd "$bundle"
exec sam deploy --template-file template.yaml --config-file "$config" \
  --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND --resolve-s3 "$@"
