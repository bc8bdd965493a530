#!/usr/bin/env bash
# Starts the tools built by build.sh briefly, on loopback only, and checks that they work:
#   etcd                    /health answers {"health":"true"}
#   helm                    `helm version`, `helm lint` and `helm template` on a tiny chart
#   kube-apiserver          etcd + apiserver as controller-runtime's envtest starts them:
#                           /readyz is ok and /api/v1/namespaces answers for an admin token
#   kube-controller-manager the above + KCM with only the controllers tests need: /healthz
#                           ok, and a Deployment gets its ReplicaSet and a Pod
# Everything runs in a temp dir that is removed at the end; every process it starts is
# stopped by pid.
#
#   scripts/tools/verify.sh [etcd|helm|kube-apiserver|kube-controller-manager ...]
set -euo pipefail

# serviceaccount-controller makes each namespace's "default" ServiceAccount, without which
# the ServiceAccount admission plugin rejects every Pod a ReplicaSet creates.
KCM_CONTROLLERS=${KCM_CONTROLLERS:-deployment-controller,replicaset-controller,endpointslice-controller,garbage-collector-controller,namespace-controller,serviceaccount-controller}
BIN=${SLUICE_TOOLS_BIN:-${SLUICE_TOOLS_CACHE:-$HOME/.cache/sluice}/bin}
tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(etcd helm kube-apiserver kube-controller-manager)
want() { local t; for t in "${tools[@]}"; do [ "$t" = "$1" ] && return 0; done; return 1; }

tmp=$(mktemp -d /tmp/sluice-tools-verify.XXXXXX)
pids=()
# stop PID: SIGTERM, up to 15 s to exit, then SIGKILL.
stop() {
  local p=$1 n=30
  kill "$p" 2>/dev/null || return 0
  while [ $n -gt 0 ] && kill -0 "$p" 2>/dev/null; do sleep 0.5; n=$((n - 1)); done
  if kill -0 "$p" 2>/dev/null; then
    echo "verify: pid $p did not exit 15 s after SIGTERM; SIGKILL" >&2
    kill -9 "$p" 2>/dev/null || true
  fi
  wait "$p" 2>/dev/null || true
}
# Stops in reverse start order: the API server drains while etcd is still there.
cleanup() {
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do stop "${pids[$i]}"; done
  if [ -n "${VERIFY_KEEP:-}" ]; then echo "verify: logs kept in $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

fail() { echo "verify: FAILED: $1" >&2; shift; local f; for f in "$@"; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }; done; exit 1; }
# A free loopback TCP port (bound and released; fine for a test on one machine).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
# wait_for SECONDS CMD...: retries CMD every 0.5 s; gives up early when the process
# started last ($!) has exited.
wait_for() {
  local n=$(( $1 * 2 )) last=${pids[${#pids[@]}-1]:-}; shift
  while [ $n -gt 0 ]; do
    "$@" >/dev/null 2>&1 && return 0
    [ -z "$last" ] || kill -0 "$last" 2>/dev/null || return 1
    sleep 0.5; n=$((n - 1))
  done
  return 1
}

start_etcd() {
  local cport pport
  cport=$(free_port); pport=$(free_port)
  "$BIN/etcd" --name=verify --data-dir="$tmp/etcd" --unsafe-no-fsync \
    --listen-client-urls="http://127.0.0.1:$cport" --advertise-client-urls="http://127.0.0.1:$cport" \
    --listen-peer-urls="http://127.0.0.1:$pport" --initial-advertise-peer-urls="http://127.0.0.1:$pport" \
    --initial-cluster="verify=http://127.0.0.1:$pport" --log-level=warn >"$tmp/etcd.log" 2>&1 &
  pids+=($!)
  ETCD_URL=http://127.0.0.1:$cport
  wait_for 30 sh -c "curl -fsS $ETCD_URL/health | grep -q '\"health\":\"true\"'" \
    || fail "etcd /health at $ETCD_URL" "$tmp/etcd.log"
  echo "etcd: ok ($("$BIN/etcd" --version | head -1); /health at $ETCD_URL)"
}

start_apiserver() {
  APISERVER_PORT=$(free_port)
  TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
  mkdir -p "$tmp/apiserver"
  openssl genrsa -out "$tmp/apiserver/sa.key" 2048 2>/dev/null
  openssl rsa -in "$tmp/apiserver/sa.key" -pubout -out "$tmp/apiserver/sa.pub" 2>/dev/null
  echo "$TOKEN,admin,admin,system:masters" >"$tmp/apiserver/tokens.csv"
  "$BIN/kube-apiserver" \
    --etcd-servers="$ETCD_URL" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
    --endpoint-reconciler-type=none \
    --cert-dir="$tmp/apiserver/certs" \
    --service-cluster-ip-range=10.0.0.0/24 \
    --service-account-issuer="https://127.0.0.1:$APISERVER_PORT" \
    --service-account-key-file="$tmp/apiserver/sa.pub" \
    --service-account-signing-key-file="$tmp/apiserver/sa.key" \
    --authorization-mode=RBAC \
    --token-auth-file="$tmp/apiserver/tokens.csv" \
    --allow-privileged=true \
    >"$tmp/apiserver.log" 2>&1 &
  pids+=($!)
  APISERVER=https://127.0.0.1:$APISERVER_PORT
  local t0=$SECONDS
  wait_for 120 sh -c "curl -fsSk -H 'Authorization: Bearer $TOKEN' $APISERVER/readyz | grep -qx ok" \
    || fail "kube-apiserver /readyz at $APISERVER" "$tmp/apiserver.log"
  curl -fsSk -H "Authorization: Bearer $TOKEN" "$APISERVER/api/v1/namespaces" | grep -q '"kind": *"NamespaceList"' \
    || fail "kube-apiserver /api/v1/namespaces" "$tmp/apiserver.log"
  local v; v=$(curl -fsSk -H "Authorization: Bearer $TOKEN" "$APISERVER/version" | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p')
  echo "kube-apiserver: ok ($v; /readyz ok after $((SECONDS - t0)) s, /api/v1/namespaces lists namespaces)"
  cat >"$tmp/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "$APISERVER", insecure-skip-tls-verify: true}
users:
- name: admin
  user: {token: "$TOKEN"}
contexts:
- name: local
  context: {cluster: local, user: admin}
current-context: local
EOF
}

api() { # api METHOD PATH [JSON]
  curl -fsSk -X "$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    ${3:+--data "$3"} "$APISERVER$2"
}

start_kcm() {
  local port; port=$(free_port)
  "$BIN/kube-controller-manager" \
    --kubeconfig="$tmp/kubeconfig" \
    --authentication-kubeconfig="$tmp/kubeconfig" --authorization-kubeconfig="$tmp/kubeconfig" \
    --authentication-skip-lookup \
    --bind-address=127.0.0.1 --secure-port="$port" \
    --leader-elect=false \
    --controllers="$KCM_CONTROLLERS" \
    --service-account-private-key-file="$tmp/apiserver/sa.key" \
    >"$tmp/kcm.log" 2>&1 &
  pids+=($!)
  local t0=$SECONDS
  wait_for 90 sh -c "curl -fsSk https://127.0.0.1:$port/healthz | grep -qx ok" \
    || fail "kube-controller-manager /healthz on 127.0.0.1:$port" "$tmp/kcm.log"
  echo "kube-controller-manager: /healthz ok after $((SECONDS - t0)) s"
  # A Deployment must get a ReplicaSet and a Pod (no kubelet: the Pod stays Pending).
  wait_for 60 api GET /api/v1/namespaces/default/serviceaccounts/default \
    || fail "serviceaccount-controller made no default ServiceAccount" "$tmp/kcm.log"
  api POST /apis/apps/v1/namespaces/default/deployments '{
    "apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"verify"},
    "spec":{"replicas":1,"selector":{"matchLabels":{"app":"verify"}},
      "template":{"metadata":{"labels":{"app":"verify"}},
        "spec":{"containers":[{"name":"c","image":"example.invalid/none"}]}}}}' >/dev/null \
    || fail "create Deployment" "$tmp/apiserver.log"
  wait_for 60 sh -c "curl -fsSk -H 'Authorization: Bearer $TOKEN' '$APISERVER/api/v1/namespaces/default/pods?labelSelector=app%3Dverify' | grep -q '\"ownerReferences\"'" \
    || fail "Deployment got no Pod" "$tmp/kcm.log"
  # garbage-collector-controller: deleting the Deployment removes its ReplicaSet and Pod.
  api DELETE /apis/apps/v1/namespaces/default/deployments/verify '{"propagationPolicy":"Background"}' >/dev/null \
    || fail "delete Deployment" "$tmp/apiserver.log"
  wait_for 60 sh -c "! curl -fsSk -H 'Authorization: Bearer $TOKEN' '$APISERVER/api/v1/namespaces/default/pods?labelSelector=app%3Dverify' | grep -q '\"ownerReferences\"'" \
    || fail "garbage collector left the Deployment's Pod" "$tmp/kcm.log"
  # namespace-controller: a deleted namespace goes away.
  api POST /api/v1/namespaces '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"verify-ns"}}' >/dev/null \
    && api DELETE /api/v1/namespaces/verify-ns >/dev/null || fail "create/delete Namespace" "$tmp/apiserver.log"
  wait_for 60 sh -c "! curl -fsSk -H 'Authorization: Bearer $TOKEN' $APISERVER/api/v1/namespaces/verify-ns" \
    || fail "namespace controller did not finish deleting verify-ns" "$tmp/kcm.log"
  echo "kube-controller-manager: ok (Deployment -> ReplicaSet -> Pod, GC of both, namespace deletion; $((SECONDS - t0)) s)"
}

verify_helm() {
  local chart=$tmp/chart
  mkdir -p "$chart/templates"
  cat >"$chart/Chart.yaml" <<'EOF'
apiVersion: v2
name: verify
version: 0.1.0
EOF
  echo 'greeting: hello' >"$chart/values.yaml"
  cat >"$chart/templates/cm.yaml" <<'EOF'
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-cm
data:
  greeting: {{ .Values.greeting | quote }}
  kube: {{ .Capabilities.KubeVersion.Version | quote }}
EOF
  local v; v=$("$BIN/helm" version --short) || fail "helm version"
  HOME=$tmp "$BIN/helm" lint "$chart" >"$tmp/helm.log" 2>&1 || fail "helm lint" "$tmp/helm.log"
  HOME=$tmp "$BIN/helm" template r1 "$chart" --kube-version v1.37.2 >"$tmp/helm.out" 2>>"$tmp/helm.log" \
    || fail "helm template" "$tmp/helm.log"
  grep -q 'name: r1-cm' "$tmp/helm.out" && grep -q 'kube: "v1.37.2"' "$tmp/helm.out" \
    || fail "helm template output" "$tmp/helm.out"
  # Without --kube-version, .Capabilities.KubeVersion is what build.sh linked in.
  local kv; kv=$(HOME=$tmp "$BIN/helm" template r1 "$chart" | sed -n 's/^ *kube: "\(.*\)"/\1/p')
  [ "$kv" != "v1.20.0" ] || fail "helm built without the k8sVersion ldflags (Capabilities say v1.20.0)"
  echo "helm: ok ($v; lint and template on a tiny chart; default .Capabilities.KubeVersion $kv)"
}

if want helm; then verify_helm; fi
if want etcd || want kube-apiserver || want kube-controller-manager; then start_etcd; fi
if want kube-apiserver || want kube-controller-manager; then start_apiserver; fi
if want kube-controller-manager; then start_kcm; fi
