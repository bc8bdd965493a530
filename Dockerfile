# syntax=docker/dockerfile:1.7
# One image for every sluice component; the command picks it:
#   docker run IMAGE router | activator | autoscaler | queue-proxy
# (Kubernetes: `command: ["router"]`, as the chart and the controller's queue-proxy sidecar do.)
# Components run from their prebuilt bundles (dist/<component>.cjs, made by scripts/build.ts in
# the build stage: docs/prebuilt.md), with the production dependencies beside them for what the
# bundles leave out. Built and checked how: docs/kubernetes.md ("The image").

ARG NODE_IMAGE=node:24-slim

# --- production dependencies only (no devDependencies, no install scripts) ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
  && npm cache clean --force

# --- the prebuilt bundles (esbuild is a devDependency: all dependencies, no install scripts) ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY common ./common
COPY serving ./serving
COPY platform ./platform
COPY router ./router
COPY activator ./activator
COPY autoscaler ./autoscaler
COPY queue-proxy ./queue-proxy
COPY eventing ./eventing
COPY scripts/build.ts ./scripts/build.ts
RUN node scripts/build.ts

# --- the runtime image ---
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    SLUICE_HOME=/app
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY common ./common
COPY serving ./serving
COPY platform ./platform
COPY router ./router
COPY activator ./activator
COPY autoscaler ./autoscaler
COPY queue-proxy ./queue-proxy
COPY eventing ./eventing
COPY --from=build /app/dist ./dist
# The command's own name picks the component: router, activator, autoscaler, queue-proxy and
# eventing are links to this script.
COPY --chmod=0755 <<'SCRIPT' /usr/local/bin/sluice-component
#!/bin/sh
component=$(basename "$0")
case "$component" in
  # The queue-proxy's own V8 flag (common/prebuilt.ts QUEUE_PROXY_NODE_OPTIONS; node refuses it in
  # NODE_OPTIONS, so it goes here).
  queue-proxy)
    exec node --no-maglev "${SLUICE_HOME:-/app}/dist/queue-proxy.cjs" "$@" ;;
  router|activator|autoscaler|eventing)
    exec node "${SLUICE_HOME:-/app}/dist/$component.cjs" "$@" ;;
  *)
    echo "sluice image: run one of router, activator, autoscaler, queue-proxy, eventing (not $component)" >&2
    exit 64 ;;
esac
SCRIPT
RUN for component in router activator autoscaler queue-proxy eventing; do \
      ln -s sluice-component "/usr/local/bin/$component"; \
    done \
  && groupadd --system --gid 10001 sluice \
  && useradd --system --uid 10001 --gid sluice --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin sluice
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# Router 8080/9080, activator 8081/9081, autoscaler 8090, queue-proxy 8012/8022/9091.
EXPOSE 8080 9080 8081 9081 8090 8012 8022 9091
CMD ["router"]
