#!/usr/bin/env bash
# Installs the programs the tests run (beyond Node and npm packages) when they are missing:
# idempotent and quiet. Debian package names; needs root (CI runs as root). Exits non-zero when
# something the tests need cannot be installed, naming it.
set -uo pipefail

# command → Debian package that provides it
declare -A TOOLS=(
  [chromium]=chromium       # test/autoscaler-service/status-page.test.ts (headless browser)
  [nginx]=nginx             # bench: the reference proxy (/usr/sbin/nginx)
  [wrk]=wrk                 # bench: the load generator (test/bench/main.test.ts)
  [openssl]=openssl         # test/router/lifecycle.test.ts: a test certificate for TLS
  [setpriv]=util-linux      # cli/up: components die with sluice up, even on SIGKILL
  [getconf]=libc-bin        # bench/lib/proc.ts: clock ticks for CPU figures
  [ip]=iproute2             # test/helpers/kube/test-node.ts: a network namespace per pod
  [flock]=util-linux        # test/helpers/kube/control-plane.ts: one tools build at a time
  [prometheus]=prometheus   # test/observability: scrapes sluice up; promtool checks the rules
  [java]=openjdk-17-jre-headless  # Kafka (scripts/tools/kafka-start.sh) for the eventing tests
  [mvn]=maven               # scripts/tools/build.sh kafka: fetches Kafka from Maven Central
)

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }

missing=()
for tool in "${!TOOLS[@]}"; do
  have "$tool" || missing+=("${TOOLS[$tool]}")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
  echo "system-tools: missing ${missing[*]} and no apt-get to install them" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "system-tools: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq "${missing[@]}"; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "system-tools: could not install ${missing[*]}" >&2
  exit 1
fi
for tool in "${!TOOLS[@]}"; do
  have "$tool" || { echo "system-tools: $tool still missing after installing ${TOOLS[$tool]}" >&2; exit 1; }
done
