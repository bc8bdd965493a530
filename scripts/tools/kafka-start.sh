#!/usr/bin/env bash
# Runs one Apache Kafka 4.x broker in KRaft mode (broker and controller in one process) on
# loopback, from the jars build.sh fetched from Maven Central. Formats the storage first when
# DIR has none. Execs java: the caller's PID is the broker's, SIGTERM stops it cleanly.
#
#   scripts/tools/kafka-start.sh DIR BROKER_PORT CONTROLLER_PORT
#
# DIR holds server.properties, log4j2.properties and data/ (kept across restarts: the same DIR
# starts the same cluster again). The broker is ready when its log says "Kafka Server started".
#
# Environment (optional):
#   SLUICE_TOOLS_CACHE  cache root (default ~/.cache/sluice); jars from kafka/current/libs
#   KAFKA_HEAP_OPTS     JVM heap (default -Xms128m -Xmx512m: a test broker, not a production one)
#   KAFKA_AUTO_CREATE_TOPICS  auto.create.topics.enable (default true; false: a missing topic stays missing)
set -euo pipefail

[ $# -eq 3 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
dir=$1 port=$2 cport=$3
libs=${SLUICE_TOOLS_CACHE:-$HOME/.cache/sluice}/kafka/current/libs
[ -d "$libs" ] || { echo "kafka-start.sh: no Kafka jars in $libs: run scripts/tools/build.sh kafka" >&2; exit 1; }
command -v java >/dev/null || { echo "kafka-start.sh: java not found (Java 17+)" >&2; exit 1; }
mkdir -p "$dir/data"

# One node that is both broker and controller, with a static voter set: no quorum to bootstrap.
# Replication factors of 1 for the internal topics (a single broker cannot hold 3 replicas).
cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=${KAFKA_AUTO_CREATE_TOPICS:-true}
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF

# Warnings and the start-up line to stdout; Kafka's INFO chatter would drown a test's output.
cat >"$dir/log4j2.properties" <<'EOF'
appender.out.type=Console
appender.out.name=out
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=WARN
rootLogger.appenderRef.out.ref=out
logger.server.name=kafka.server.KafkaRaftServer
logger.server.level=INFO
EOF

java_opts=(${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m} -XX:+UseG1GC -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$dir/log4j2.properties" -cp "$libs/*")

if [ ! -f "$dir/data/meta.properties" ]; then
  # A cluster id is 16 random bytes, base64url without padding (what `random-uuid` prints).
  # "--cluster-id=": an id starting with "-" (1 in 64) would be read as an option after "-t".
  id=$(head -c16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
  java "${java_opts[@]}" kafka.tools.StorageTool format "--cluster-id=$id" -c "$dir/server.properties" >"$dir/format.log" 2>&1 \
    || { cat "$dir/format.log" >&2; exit 1; }
fi
exec java "${java_opts[@]}" kafka.Kafka "$dir/server.properties"
