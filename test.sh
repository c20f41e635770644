#!/usr/bin/env bash
# Runs every test. Needs the .NET SDK (see global.json); installs the rest on Debian/Ubuntu when run as
# root, otherwise stops at once and prints the command that installs it:
#   - chromium: the dashboard's browser tests (tests/Ccflare.Dashboard.Tests, or set CHROMIUM_PATH);
#   - postgresql: server binaries the PostgreSQL store tests start a throwaway cluster with
#     (or set CCFLARE_TEST_PG_BIN). As root the tests run that cluster as the 'postgres' user the package creates.
# Node is not needed: the dashboard is built into src/Ccflare.AspNetCore/Dashboard/dist.
# Extra arguments go to `dotnet test`, e.g. ./test.sh --filter FullyQualifiedName~Storage
set -euo pipefail
cd "$(dirname "$0")"

export DOTNET_CLI_TELEMETRY_OPTOUT=1
export DOTNET_NOLOGO=1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET SDK is missing: install .NET 10 (https://dot.net/download), then run ./test.sh again." >&2
  exit 1
fi

missing=()
if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  missing+=(chromium)
fi
if [ -z "${CCFLARE_TEST_PG_BIN:-}" ] && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && ! command -v initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi

if [ ${#missing[@]} -gt 0 ]; then
  install="apt-get update && apt-get install -y ${missing[*]}"
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "Missing: ${missing[*]}. Install them with your package manager, then run ./test.sh again." >&2
    exit 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "Missing: ${missing[*]}. Install them, then run ./test.sh again:" >&2
    echo "  sudo sh -c '$install'" >&2
    exit 1
  fi
  echo "Installing ${missing[*]}..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Every test host watches its configuration files, one inotify instance each; the test projects run
# side by side, and the kernel's default of 128 instances per user can run out. Raise it where we may.
if [ "$(id -u)" -eq 0 ] && [ -r /proc/sys/fs/inotify/max_user_instances ] \
   && [ "$(cat /proc/sys/fs/inotify/max_user_instances)" -lt 1024 ]; then
  sysctl -q -w fs.inotify.max_user_instances=1024 >/dev/null 2>&1 || true
fi

exec dotnet test Ccflare.sln "$@"
