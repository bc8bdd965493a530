#!/usr/bin/env bash
# Builds the real tools the tests use and caches them outside the repo: the Kubernetes
# control plane (etcd, helm, kube-apiserver, kube-controller-manager) and nats-server from
# the Go module proxy, and Apache Kafka (KRaft) from Maven Central. Idempotent: a tool
# already cached for its version is skipped.
#
#   scripts/tools/build.sh [--verify] [etcd|helm|kube-apiserver|kube-controller-manager|nats-server|kafka|jaeger ...]
#
# No tool named = all of them. Prints one line per tool with the binary's path; exits
# non-zero naming the tool that failed (its log is under $SLUICE_TOOLS_CACHE/logs/).
# --verify also starts each built tool briefly on loopback (scripts/tools/verify.sh).
#
# Environment (all optional):
#   SLUICE_TOOLS_CACHE  cache root (default ~/.cache/sluice)
#   ETCD_VERSION HELM_VERSION KUBE_VERSION NATS_VERSION KAFKA_VERSION JAEGER_VERSION  versions (defaults below)
#   SLUICE_TOOLS_JOBS   go build -p (default 1: the machine is shared, builds are niced)
set -euo pipefail

ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
# The staging modules are released as v0.<minor>.<patch> alongside v1.<minor>.<patch>.
STAGING_VERSION=v0.${KUBE_VERSION#v1.}
NATS_VERSION=${NATS_VERSION:-v2.12.15}
KAFKA_VERSION=${KAFKA_VERSION:-4.4.0}

CACHE=${SLUICE_TOOLS_CACHE:-$HOME/.cache/sluice}
BIN=$CACHE/bin
SRC=$CACHE/src
LOGS=$CACHE/logs
export GOMODCACHE=$CACHE/go/mod
export GOCACHE=$CACHE/go/build
export GOFLAGS="${GOFLAGS:+$GOFLAGS }-p=${SLUICE_TOOLS_JOBS:-1}"
export GOTOOLCHAIN=${GOTOOLCHAIN:-local}
export CGO_ENABLED=${CGO_ENABLED:-0}
mkdir -p "$BIN" "$SRC" "$LOGS"

here=$(cd "$(dirname "$0")" && pwd)
verify=0
tools=()
for a in "$@"; do
  case $a in
    --verify) verify=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    etcd|helm|kube-apiserver|kube-controller-manager|nats-server|kafka|jaeger) tools+=("$a") ;;
    *) echo "build.sh: unknown tool '$a' (etcd, helm, kube-apiserver, kube-controller-manager, nats-server, kafka, jaeger)" >&2; exit 2 ;;
  esac
done
[ ${#tools[@]} -gt 0 ] || tools=(etcd helm kube-apiserver kube-controller-manager nats-server kafka jaeger)

# Kafka alone needs Maven and Java, not Go.
if [[ " ${tools[*]} " != " kafka " ]]; then
  command -v go >/dev/null || { echo "build.sh: go not found" >&2; exit 1; }
fi

# timed LOG CMD...: runs CMD niced, output to LOG, with /usr/bin/time -v when present
# (wall time and peak RSS end up at the end of the log).
timed() {
  local log=$1; shift
  if [ -x /usr/bin/time ]; then
    nice -n 19 /usr/bin/time -v "$@" >>"$log" 2>&1
  else
    nice -n 19 "$@" >>"$log" 2>&1
  fi
}

# summary LOG: "3m12s, peak 2.1 GiB" from a /usr/bin/time -v log.
summary() {
  awk -F': ' '/Elapsed \(wall clock\)/ {w=$2} /Maximum resident set size/ {m=$2}
    END { if (w != "") printf "%s wall, peak RSS %.1f GiB", w, m/1048576 }' "$1"
}

# scratch DIR MODULE: a fresh scratch module in $SRC/DIR.
scratch() {
  local dir=$SRC/$1
  rm -rf "$dir"; mkdir -p "$dir"
  (cd "$dir" && go mod init "sluice.local/tools/$1" >/dev/null 2>&1)
  echo "$dir"
}

fail() { echo "build.sh: FAILED: $1 — see $2" >&2; tail -n 25 "$2" | grep -v '^\s*\(Page\|File\|Socket\|Signals\|Swaps\|Average\|Exit\|Voluntary\|Involuntary\|Minor\|Major\)' >&2 || true; exit 1; }

build_etcd() {
  local out=$BIN/etcd-$ETCD_VERSION log=$LOGS/etcd-$ETCD_VERSION.log
  if [ -x "$out" ]; then echo "etcd $ETCD_VERSION: cached $out"; return; fi
  echo "building etcd $ETCD_VERSION (first time: ~1 min)… log: $log"
  : >"$log"
  local dir; dir=$(scratch "etcd-$ETCD_VERSION")
  # go.etcd.io/etcd/server/v3's own replace lines only point at sibling modules of the
  # same release; a scratch module resolves those from the proxy at the same version.
  (cd "$dir" \
    && timed "$log" go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" \
    && timed "$log" go build -trimpath -ldflags='-s -w' -o "$out.tmp" go.etcd.io/etcd/server/v3 \
    && mv "$out.tmp" "$out") || fail etcd "$log"
  echo "etcd $ETCD_VERSION: built $out ($(summary "$log"))"
}

build_helm() {
  local out=$BIN/helm-$HELM_VERSION log=$LOGS/helm-$HELM_VERSION.log
  if [ -x "$out" ]; then echo "helm $HELM_VERSION: cached $out"; return; fi
  echo "building helm $HELM_VERSION (first time: ~2.5 min)… log: $log"
  : >"$log"
  local dir; dir=$(scratch "helm-$HELM_VERSION")
  (cd "$dir" && timed "$log" go get "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") || fail helm "$log"
  # As helm's Makefile: without these ldflags .Capabilities.KubeVersion (and the lint
  # deprecation check) assume Kubernetes v1.20; the Makefile takes the version from the
  # k8s.io/client-go it is built with (v0.37.x -> 1.37).
  local cg kmaj kmin
  cg=$(cd "$dir" && go list -m -f '{{.Version}}' k8s.io/client-go) || fail helm "$log"
  cg=${cg#v}; kmaj=$(( ${cg%%.*} + 1 )); kmin=${cg#*.}; kmin=${kmin%%.*}
  local f="-s -w"
  f+=" -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  f+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  f+=" -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$kmaj -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$kmin"
  f+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$kmaj -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$kmin"
  (cd "$dir" \
    && timed "$log" go build -trimpath -ldflags="$f" -o "$out.tmp" helm.sh/helm/v3/cmd/helm \
    && mv "$out.tmp" "$out") || fail helm "$log"
  echo "helm $HELM_VERSION: built $out ($(summary "$log"))"
}

# The kubernetes module requires its staging modules at v0.0.0 and replaces them with
# ./staging/src/k8s.io/...; those directories are not in the module zip, so `go install
# k8s.io/kubernetes/cmd/...@v1.x` is refused. The scratch module below requires
# k8s.io/kubernetes and replaces every staging module that kubernetes requires with its
# published v0.<minor>.<patch> release; the list is read from kubernetes' own go.mod.
kube_module() {
  local dir=$SRC/kubernetes-$KUBE_VERSION log=$1
  if [ -f "$dir/.ready" ]; then echo "$dir"; return; fi
  dir=$(scratch "kubernetes-$KUBE_VERSION")
  local gomod
  gomod=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" \
          | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p') || return 1
  [ -f "$gomod" ] || { echo "no go.mod for k8s.io/kubernetes@$KUBE_VERSION" >>"$log"; return 1; }
  local staged required mods=()
  staged=$(sed -n 's#^\s*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/.*#\1#p' "$gomod" | sort -u)
  required=$(awk '/^require \(/ {r=1; next} r && /^\)/ {r=0} r {print $1" "$2} /^require [^(]/ {print $2" "$3}' "$gomod" \
             | awk '$2 == "v0.0.0" {print $1}' | sort -u)
  mods=($(comm -12 <(echo "$staged") <(echo "$required")))
  echo "staging modules replaced with $STAGING_VERSION: ${mods[*]}" >>"$log"
  {
    echo "module sluice.local/tools/kubernetes-$KUBE_VERSION"
    echo
    sed -n 's/^go \(.*\)/go \1/p' "$gomod" | head -1
    sed -n 's/^godebug \(.*\)/godebug \1/p' "$gomod"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    echo "replace ("
    for m in "${mods[@]}"; do echo "	$m => $m $STAGING_VERSION"; done
    echo ")"
  } >"$dir/go.mod"
  # A file importing the commands keeps `go mod tidy` from dropping what they need.
  cat >"$dir/tools.go" <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
)
EOF
  (cd "$dir" && timed "$log" go mod tidy) || return 1
  touch "$dir/.ready"
  echo "$dir"
}

kube_ldflags() {
  local v=$KUBE_VERSION major minor
  major=${v#v}; major=${major%%.*}
  minor=${v#v*.}; minor=${minor%%.*}
  local p="k8s.io/component-base/version"
  local cb="k8s.io/client-go/pkg/version"
  local f="-s -w"
  for pkg in $p $cb; do
    f+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  echo "$f"
}

build_kube() {
  local tool=$1
  local out=$BIN/$tool-$KUBE_VERSION log=$LOGS/$tool-$KUBE_VERSION.log
  if [ -x "$out" ]; then echo "$tool $KUBE_VERSION: cached $out"; return; fi
  echo "building $tool $KUBE_VERSION (first time: ~7 min for kube-apiserver, then ~3 min for kube-controller-manager, 2.5 GiB)… log: $log"
  : >"$log"
  local dir
  dir=$(kube_module "$log") || fail "$tool" "$log"
  (cd "$dir" \
    && timed "$log" go build -trimpath -tags=providerless -ldflags="$(kube_ldflags)" \
         -o "$out.tmp" "k8s.io/kubernetes/cmd/$tool" \
    && mv "$out.tmp" "$out") || fail "$tool" "$log"
  echo "$tool $KUBE_VERSION: built $out ($(summary "$log"))"
}

# --- nats-server (Eventing's Broker store: JetStream) ----------------------------------
# Debian bookworm has 2.9.10; the module build gives a current 2.12 (consumer BackOff and
# the JetStream fixes since 2.9) and is a plain `go build` of the module's root package.
build_nats() {
  local out=$BIN/nats-server-$NATS_VERSION log=$LOGS/nats-server-$NATS_VERSION.log
  if [ -x "$out" ]; then echo "nats-server $NATS_VERSION: cached $out"; return; fi
  echo "building nats-server $NATS_VERSION (first time: ~1 min)… log: $log"
  : >"$log"
  local dir; dir=$(scratch "nats-server-$NATS_VERSION")
  (cd "$dir" \
    && timed "$log" go get "github.com/nats-io/nats-server/v2@$NATS_VERSION" \
    && timed "$log" go build -trimpath -ldflags='-s -w' -o "$out.tmp" github.com/nats-io/nats-server/v2 \
    && mv "$out.tmp" "$out") || fail nats-server "$log"
  echo "nats-server $NATS_VERSION: built $out ($(summary "$log"))"
}

# --- Kafka (KRaft, for KafkaSource) -----------------------------------------------------
# Maven Central publishes the broker as org.apache.kafka:kafka_2.13 with its runtime
# dependencies in the POM; `mvn dependency:copy-dependencies` on a one-dependency POM puts
# every jar in one directory, which is the broker's whole classpath. No tarball and none
# of Kafka's shell scripts: scripts/tools/kafka-start.sh runs the two main classes.
fetch_kafka() {
  local dir=$CACHE/kafka/$KAFKA_VERSION log=$LOGS/kafka-$KAFKA_VERSION.log
  if [ -f "$dir/.ready" ]; then echo "kafka $KAFKA_VERSION: cached $dir/libs"; return; fi
  command -v mvn >/dev/null || { echo "build.sh: mvn not found (apt-get install maven)" >&2; exit 1; }
  command -v java >/dev/null || { echo "build.sh: java not found (apt-get install openjdk-17-jre-headless)" >&2; exit 1; }
  echo "fetching kafka $KAFKA_VERSION from Maven Central (first time: ~1 min)… log: $log"
  : >"$log"
  rm -rf "$dir"; mkdir -p "$dir"
  # The POM brings log4j's API but no SLF4J binding or log4j-core, and Maven's nearest-wins
  # picks slf4j-api 1.7 from a transitive dependency, which the 2.x binding cannot serve:
  # without these three the broker logs nothing (Kafka's tarball ships the same set).
  cat >"$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>sluice.local</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.17</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
EOF
  (cd "$dir" \
    && timed "$log" mvn -B -q -Dmaven.repo.local="$CACHE/m2" -DincludeScope=runtime \
         -DoutputDirectory="$dir/libs" dependency:copy-dependencies \
    && touch "$dir/.ready") || fail kafka "$log"
  echo "kafka $KAFKA_VERSION: fetched $dir/libs ($(ls "$dir/libs" | wc -l) jars, $(summary "$log"))"
}

# --- Jaeger v2 (test/observability: traces read back through its query API) -------------
# github.com/jaegertracing/jaeger v1.76.0 is Jaeger v2.13 (cmd/jaeger, an OTel collector
# build). Its go.mod has replace lines, which `go install …@v` refuses: a scratch module
# takes the command with `go get -tool` and copies the module's non-local replace lines.
# A module build has no UI assets; the query API (/api/v3/traces) is all the tests read.
JAEGER_VERSION=${JAEGER_VERSION:-v1.76.0}
build_jaeger() {
  local out=$BIN/jaeger-$JAEGER_VERSION log=$LOGS/jaeger-$JAEGER_VERSION.log
  if [ -x "$out" ]; then echo "jaeger $JAEGER_VERSION: cached $out"; return; fi
  echo "building jaeger $JAEGER_VERSION (first time: several minutes)… log: $log"
  : >"$log"
  local dir; dir=$(scratch "jaeger-$JAEGER_VERSION")
  local gomod
  gomod=$(cd "$dir" && go mod download -json "github.com/jaegertracing/jaeger@$JAEGER_VERSION" \
          | sed -n 's/^\s*"GoMod": "\(.*\)",$/\1/p') || fail jaeger "$log"
  [ -f "$gomod" ] || { echo "no go.mod for jaeger@$JAEGER_VERSION" >>"$log"; fail jaeger "$log"; }
  # One-line replace directives that point at another module version (not ./local paths).
  sed -n 's/^replace \([^ ]*\) => \([^.][^ ]*\) \(v[^ ]*\)$/\1 \2 \3/p' "$gomod" | while read -r from to v; do
    (cd "$dir" && go mod edit -replace="$from=$to@$v" && echo "replace $from => $to $v" >>"$log") || exit 1
  done || fail jaeger "$log"
  (cd "$dir" \
    && timed "$log" go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$JAEGER_VERSION" \
    && timed "$log" go build -trimpath -ldflags='-s -w' -o "$out.tmp" github.com/jaegertracing/jaeger/cmd/jaeger \
    && mv "$out.tmp" "$out") || fail jaeger "$log"
  echo "jaeger $JAEGER_VERSION: built $out ($(summary "$log"))"
}

# Each binary is <tool>-<version>; bin/<tool> is a stable symlink to it for tests.
for t in "${tools[@]}"; do
  case $t in
    etcd) build_etcd; v=$ETCD_VERSION ;;
    helm) build_helm; v=$HELM_VERSION ;;
    kube-apiserver|kube-controller-manager) build_kube "$t"; v=$KUBE_VERSION ;;
    nats-server) build_nats; v=$NATS_VERSION ;;
    jaeger) build_jaeger; v=$JAEGER_VERSION ;;
    # Not a binary: kafka/<version>/libs, and kafka/current -> <version> for tests.
    kafka) fetch_kafka; ln -sfn "$KAFKA_VERSION" "$CACHE/kafka/current"; continue ;;
  esac
  ln -sfn "$t-$v" "$BIN/$t"
done

if [ $verify = 1 ]; then
  SLUICE_TOOLS_BIN=$BIN "$here/verify.sh" "${tools[@]}"
fi
