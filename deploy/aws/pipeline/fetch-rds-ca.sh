#!/usr/bin/env bash
# Downloads the Amazon RDS global CA bundle into deploy/container/ca/ (which the Dockerfile copies
# to /etc/todo-api/ca/) and refuses it unless its SHA-256 is the pinned one in
# deploy/container/ca/rds-global-bundle.pem.sha256. Run by the CodeBuild build before
# `docker build`; how to update the pin: deploy/container/ca/README.md.
#
#   deploy/aws/pipeline/fetch-rds-ca.sh            (from the repository root)
#
# RDS_CA_BUNDLE_URL overrides the source (the tests use a file:// URL).
set -euo pipefail
cd "$(dirname "$0")/../../container/ca"

url=${RDS_CA_BUNDLE_URL:-https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem}
tmp=$(mktemp rds-global-bundle.XXXXXX)
trap 'rm -f "$tmp"' EXIT

curl --fail --silent --show-error --location --proto '=https,file' --max-time 60 -o "$tmp" "$url"
mv "$tmp" rds-global-bundle.pem
if ! sha256sum --check --strict rds-global-bundle.pem.sha256; then
  rm -f rds-global-bundle.pem
  echo "fetch-rds-ca: the RDS CA bundle at $url does not match the pinned SHA-256:" \
    "refusing it (deploy/container/ca/README.md says how to update the pin)" >&2
  exit 1
fi
echo "fetch-rds-ca: $(grep -c 'BEGIN CERTIFICATE' rds-global-bundle.pem) CA certificates, SHA-256 as pinned"
