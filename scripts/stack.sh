#!/usr/bin/env bash
# The local stack: Apache Kafka (KRaft, combined broker+controller) from Maven Central's jars
# on Java 17, and the machine's MariaDB and Redis (started only when they do not answer).
# Idempotent: `up` twice is the same as once; `down` stops only what this script started.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

STACK_DIR="${STACK_DIR:-$root/.stack}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
MYSQL_HOST="${MYSQL_HOST:-127.0.0.1}"
MYSQL_PORT="${MYSQL_PORT:-3306}"
MYSQL_DATABASE="${MYSQL_DATABASE:-invalidator}"
REDIS_PORT="${REDIS_PORT:-6379}"
REDIS_CLUSTER_PORT="${REDIS_CLUSTER_PORT:-7000}"

kafka_dir="$STACK_DIR/kafka"
libs="$kafka_dir/libs"
pidfile="$kafka_dir/kafka.pid"
logfile="$kafka_dir/kafka.log"

say() { echo "stack: $*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_until() { # seconds, description, command...
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq 1 $((seconds * 5))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.2
  done
  say "timed out after ${seconds}s waiting for $what"
  return 1
}

mysql_up() {
  if ! mysqladmin --host="$MYSQL_HOST" --port="$MYSQL_PORT" --user=root ping >/dev/null 2>&1; then
    say "MariaDB not answering on $MYSQL_HOST:$MYSQL_PORT; starting it"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_until 60 "MariaDB" mysqladmin --host="$MYSQL_HOST" --port="$MYSQL_PORT" --user=root ping
  fi
  mysql --host="$MYSQL_HOST" --port="$MYSQL_PORT" --user=root \
    -e "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`"
  say "MariaDB ready on $MYSQL_HOST:$MYSQL_PORT (database $MYSQL_DATABASE)"
}

redis_up() {
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    say "Redis not answering on 127.0.0.1:$REDIS_PORT; starting it"
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
      --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_until 30 "Redis" redis-cli -p "$REDIS_PORT" ping
  fi
  say "Redis ready on 127.0.0.1:$REDIS_PORT"
}

# A local Redis Cluster (3 masters, 3 replicas) on loopback ports REDIS_CLUSTER_PORT..+5, with
# the machine's redis-server; data under .stack/redis-cluster. Only with --redis-cluster or
# REDIS_CLUSTER=1: the single Redis on REDIS_PORT stays the default.
cluster_dir="$STACK_DIR/redis-cluster"
cluster_ports() { seq "$REDIS_CLUSTER_PORT" $((REDIS_CLUSTER_PORT + 5)); }

redis_cluster_up() {
  local port nodes=()
  for port in $(cluster_ports); do
    nodes+=("127.0.0.1:$port")
    if redis-cli -p "$port" ping >/dev/null 2>&1; then continue; fi
    mkdir -p "$cluster_dir/$port"
    # A node without its cluster config starts empty: a replica's full-sync file would make
    # `--cluster create` refuse it as "not empty".
    [ -f "$cluster_dir/$port/nodes.conf" ] || rm -f "$cluster_dir/$port/dump.rdb"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
      --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
      --dir "$cluster_dir/$port" --logfile "$cluster_dir/$port/redis.log" \
      --pidfile "$cluster_dir/$port/redis.pid"
    wait_until 30 "Redis cluster node $port" redis-cli -p "$port" ping
  done
  if ! redis-cli -p "$REDIS_CLUSTER_PORT" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; then
    if [ "$(redis-cli -p "$REDIS_CLUSTER_PORT" cluster info | grep -o 'cluster_known_nodes:[0-9]*' | cut -d: -f2)" = "1" ]; then
      say "creating the Redis Cluster on ${nodes[*]}"
      redis-cli --cluster create "${nodes[@]}" --cluster-replicas 1 --cluster-yes >/dev/null
    fi
    wait_until 60 "Redis Cluster state ok" \
      bash -c "redis-cli -p $REDIS_CLUSTER_PORT cluster info | grep -q cluster_state:ok"
  fi
  say "Redis Cluster ready on ${nodes[*]} (REDIS_CLUSTER_NODES=$(IFS=,; echo "${nodes[*]}"))"
}

redis_cluster_down() {
  local port pid stopped=0
  for port in $(cluster_ports); do
    [ -f "$cluster_dir/$port/redis.pid" ] || continue
    pid="$(cat "$cluster_dir/$port/redis.pid")"
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid" 2>/dev/null || true
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      stopped=1
    fi
    rm -f "$cluster_dir/$port/redis.pid" "$cluster_dir/$port/nodes.conf" "$cluster_dir/$port/dump.rdb"
  done
  [ "$stopped" = 1 ] && say "Redis Cluster stopped" || say "no Redis Cluster started by this script is running"
}

# .complete holds the checksum of the pom the jars were copied for: a changed pom copies again.
kafka_jars() {
  local want
  want="$(sha256sum scripts/kafka/pom.xml | cut -d' ' -f1)"
  if [ "$(cat "$libs/.complete" 2>/dev/null)" != "$want" ]; then
    say "fetching the Kafka broker jars from Maven Central (once; ~/.m2 caches them)"
    mkdir -p "$libs"
    mvn -q -f scripts/kafka/pom.xml dependency:copy-dependencies -DoutputDirectory="$libs"
    echo "$want" >"$libs/.complete"
  fi
}

kafka_config() {
  mkdir -p "$kafka_dir/data"
  cat >"$kafka_dir/server.properties" <<PROPS
node.id=1
process.roles=broker,controller
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
log.dirs=$kafka_dir/data
num.partitions=1
auto.create.topics.enable=false
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=24
log.segment.bytes=67108864
PROPS
  if [ ! -f "$kafka_dir/data/meta.properties" ]; then
    say "formatting KRaft storage"
    java -cp "$libs/*" -Dlog4j2.configurationFile="$root/scripts/kafka/log4j2.yaml" \
      kafka.tools.StorageTool format --config "$kafka_dir/server.properties" \
      --cluster-id "$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)" \
      --ignore-formatted >/dev/null
  fi
}

kafka_running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

kafka_up() {
  if port_open "$KAFKA_PORT"; then
    say "Kafka already answering on 127.0.0.1:$KAFKA_PORT"
    return 0
  fi
  kafka_jars
  kafka_config
  say "starting Kafka (KRaft) on 127.0.0.1:$KAFKA_PORT"
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$root/scripts/kafka/log4j2.yaml" \
    -cp "$libs/*" kafka.Kafka "$kafka_dir/server.properties" >"$logfile" 2>&1 &
  echo $! >"$pidfile"
  if ! wait_until 120 "Kafka metadata" node scripts/kafka-wait.js "127.0.0.1:$KAFKA_PORT"; then
    tail -n 40 "$logfile" >&2
    return 1
  fi
  say "Kafka ready on 127.0.0.1:$KAFKA_PORT (log: ${logfile#"$root"/})"
}

kafka_down() {
  if kafka_running; then
    local pid
    pid="$(cat "$pidfile")"
    say "stopping Kafka (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  else
    say "no Kafka started by this script is running"
  fi
  rm -f "$pidfile"
}

# shellcheck source=scripts/stack-secure.sh
. "$root/scripts/stack-secure.sh"

status() {
  port_open "$KAFKA_PORT" && say "Kafka: up on $KAFKA_PORT" || say "Kafka: down"
  mysqladmin --host="$MYSQL_HOST" --port="$MYSQL_PORT" --user=root ping >/dev/null 2>&1 &&
    say "MariaDB: up" || say "MariaDB: down"
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && say "Redis: up" || say "Redis: down"
}

command="${1:-}"
shift || true
for arg in "$@"; do
  case "$arg" in
    --redis-cluster) REDIS_CLUSTER=1 ;;
    --secure) SECURE=1 ;;
    --purge) SECURE_PURGE=1 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

case "$command" in
  up)
    mysql_up && redis_up && kafka_up
    if [ "${REDIS_CLUSTER:-0}" = 1 ]; then redis_cluster_up; fi
    if [ "${SECURE:-0}" = 1 ]; then secure_up; fi
    ;;
  down)
    # `down --redis-cluster` (or `--secure`) stops that part only; plain `down` everything
    # this script started.
    if [ "${REDIS_CLUSTER:-0}" != 1 ] && [ "${SECURE:-0}" != 1 ]; then kafka_down; fi
    if [ "${SECURE:-0}" != 1 ] || [ "${REDIS_CLUSTER:-0}" = 1 ]; then redis_cluster_down; fi
    if [ "${REDIS_CLUSTER:-0}" != 1 ] || [ "${SECURE:-0}" = 1 ]; then secure_down; fi
    ;;
  # The secured stack alone (its own ports and directories; see scripts/stack-secure.sh).
  secure-up) secure_up ;;
  secure-down) secure_down ;;
  cluster-up) redis_cluster_up ;;
  cluster-down) redis_cluster_down ;;
  # The broker alone (the broker-restart fault case): a Redis Cluster of the run stays up.
  kafka-up) kafka_up ;;
  kafka-down) kafka_down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status|cluster-up|cluster-down|kafka-up|kafka-down|secure-up|secure-down [--redis-cluster] [--secure] [--purge]" >&2; exit 2 ;;
esac
