#!/usr/bin/env bash
# Rebuilds the dashboard from its sources (src/Ccflare.AspNetCore/Dashboard/app) with the locked
# dependencies and fails when the result differs from the committed build in Dashboard/dist, so
# the assets every Node-less build embeds cannot drift from the sources. Needs Node 20+ and npm.
set -euo pipefail
cd "$(dirname "$0")/.."

dist=src/Ccflare.AspNetCore/Dashboard/dist
(
  cd src/Ccflare.AspNetCore/Dashboard/app
  npm ci --no-audit --no-fund --loglevel=error
  npm run build --silent
)

# Committed files the build changed or did not make, and files it made that are not committed.
changes=$(git diff --name-status HEAD -- "$dist"; git ls-files --others -- "$dist" | sed 's/^/?\t/')
if [ -n "$changes" ]; then
  echo "The committed dashboard build in $dist does not match its sources:" >&2
  echo "$changes" >&2
  echo "Rebuild it (cd src/Ccflare.AspNetCore/Dashboard/app && npm ci && npm run build) and commit $dist." >&2
  exit 1
fi
echo "Dashboard assets in $dist match their sources."
