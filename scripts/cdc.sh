#!/usr/bin/env bash
# Change data capture for the local stack (issue 21): a catalog MariaDB of its own, whose binlog
# Debezium's MySQL connector reads inside a Kafka Connect worker (distributed mode) and writes
# as change events to the stack's plain broker.
#
#   catalog MariaDB 127.0.0.1:3308 (database example_shop, binlog ROW/FULL)
#     → Kafka Connect 127.0.0.1:8083 (REST), connector "catalog"
#     → topic catalog.example_shop.<table> on 127.0.0.1:9092
#
# Everything lives under $STACK_DIR/cdc (default <repo>/.stack/cdc): the jars, the catalog
# MariaDB's datadir, the worker's config, logs and pidfiles. Connect keeps its own state
# (connector config, source offsets, status) in three topics on the broker, so a restarted
# worker resumes from the binlog position it last committed.
#
# Run it (`scripts/cdc.sh up|down|status`) or source it (`cdc_up`, `cdc_down`, `cdc_status`):
# every name it defines starts with cdc_ / CDC_ (but those of scripts/processes.sh, which
# scripts/stack.sh sources too), so that sourcing it into scripts/stack.sh clobbers none of
# that script's functions or variables. Needs the broker up (scripts/stack.sh
# up), Java 17, Maven, mariadbd/mariadb-install-db, curl and jq.
#
# docker/compose.yml's cdc profile builds the same worker with this script
# (docker/connect.Dockerfile: cdc_jars, cdc_connect_config, cdc_connect_args) and registers the
# same connector (scripts/cdc/connector.json, through cdc_register), with the CDC_* settings
# below pointed at its own hosts.
#
# Change events: the JSON converter WITHOUT schemas, so a record's value is Debezium's envelope
# itself, {"before":{..}|null,"after":{..}|null,"source":{..,"file","pos","ts_ms"},"op":"c|u|d|r",
# "ts_ms":..}, and its key {"id":..} (the primary key); DECIMAL columns come as strings
# ("19.90", decimal.handling.mode=string). With schemas enabled each value would be wrapped
# in {"schema":{..},"payload":{..}}, several kilobytes of schema per event.
#
# Delivery is at least once: after a crash the worker replays from its last committed offset
# (committed every second, offset.flush.interval.ms), so a consumer may see an event twice,
# never lose one. A delete is one event (op "d", after null) and no tombstone.

CDC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK_DIR="${STACK_DIR:-$CDC_ROOT/.stack}"
CDC_DIR="$STACK_DIR/cdc"
CDC_KAFKA="${CDC_KAFKA:-127.0.0.1:${KAFKA_PORT:-9092}}"
CDC_MYSQL_HOST="${CDC_MYSQL_HOST:-127.0.0.1}"
CDC_MYSQL_PORT="${CDC_MYSQL_PORT:-3308}"
# The local catalog has no TLS; compose's MySQL 8.4 has (its self-signed certificate) and needs
# it: caching_sha2_password sends a password in full only over TLS (or to an RSA key it is
# asked for, which Connector/J refuses unless allowPublicKeyRetrieval).
CDC_MYSQL_SSL_MODE="${CDC_MYSQL_SSL_MODE:-disabled}"
CDC_CONNECT_PORT="${CDC_CONNECT_PORT:-8083}"
# Where the worker's REST listens and the name it gives the other workers (a container: 0.0.0.0
# and its service name).
CDC_CONNECT_LISTEN="${CDC_CONNECT_LISTEN:-127.0.0.1}"
CDC_CONNECT_ADVERTISED="${CDC_CONNECT_ADVERTISED:-127.0.0.1}"
CDC_DATABASE="${CDC_DATABASE:-example_shop}"
CDC_CONNECTOR="${CDC_CONNECTOR:-catalog}"
# The worker group; its three state topics are named after it.
CDC_GROUP="${CDC_GROUP:-invalidator-cdc}"
# Debezium reads the binlog as a replica: its server id must differ from the catalog's and
# from any other replica of it.
CDC_SERVER_ID=3308
CDC_DEBEZIUM_SERVER_ID=184054
CDC_DEBEZIUM_PASSWORD=debezium
CDC_JAVA="${CDC_JAVA:-java}"

cdc_db_dir="$CDC_DIR/mariadb"
cdc_db_pidfile="$cdc_db_dir/mariadbd.pid"
cdc_db_socket="$cdc_db_dir/mariadbd.sock"
cdc_connect_dir="$CDC_DIR/connect"
cdc_connect_libs="$cdc_connect_dir/libs"
cdc_connect_plugins="$cdc_connect_dir/plugins"
cdc_connect_pidfile="$cdc_connect_dir/connect.pid"
cdc_connect_log="$cdc_connect_dir/connect.log"
cdc_rest="${CDC_REST:-http://127.0.0.1:$CDC_CONNECT_PORT}"

cdc_say() { echo "cdc: $*"; }

# shellcheck source=scripts/processes.sh
. "$CDC_ROOT/scripts/processes.sh"

cdc_sql() { mariadb --no-defaults --host=127.0.0.1 --port="$CDC_MYSQL_PORT" --user=root "$@"; }

# --- the catalog MariaDB ----------------------------------------------------------------------
# Its own server, not the stack's 3306 (the versions store): the catalog is the system whose
# rows change, and Debezium needs a binlog in ROW format with full row images (before and
# after of every column). --no-defaults keeps /etc/mysql's settings (the machine's server,
# its port and socket) out of it.
#
# Two traps, both from Debezium's MySQL connector (3.6) meeting MariaDB, both seen here:
#  --version=5.5.5-10.11.19-log  The connector takes its SQL dialect from the version string.
#      MariaDB's own "10.11.19-MariaDB-…" reads as MySQL >= 8.4, so it asks for SHOW BINARY LOG
#      STATUS, MariaDB answers a syntax error, and the PUT of the connector fails (HTTP 500,
#      a NullPointerException in Connect's config validation; the cause is in connect.log).
#      "5.5.5-" is the prefix MariaDB itself puts before its version for MySQL clients; the
#      binlog client then logs "mariadb=false" and streams the MySQL way.
#  --binlog-checksum=NONE  With MariaDB's default CRC32 the server, rewriting its GTID events
#      for a MySQL-style replica, breaks the stream (here: on every restart of the connector,
#      and on a second connector's first start against a server with history): "Failed to
#      replace GTID event with backwards-compatible event: corrupt event" (error 1236); the
#      task goes FAILED and the changes from there on never arrive.
# And one of our own: --log-bin=binlog, relative (to the datadir), so that binlog.index names
# its files ./binlog.NNNNNN. With an absolute --log-bin the index holds the path the server was
# started under, and one started under another path to the same datadir (a git worktree whose
# .stack is a symlink to the main checkout's) finds no binlog of the earlier ones: Debezium,
# reconnecting at its stored position, got "Could not find first log file name in binary log
# index file" (error 1236) and its task went FAILED.
cdc_mariadb_up() {
  if cdc_sql -e 'SELECT 1' >/dev/null 2>&1; then
    cdc_say "catalog MariaDB already answering on 127.0.0.1:$CDC_MYSQL_PORT"
  else
    if [ ! -d "$cdc_db_dir/data/mysql" ]; then
      cdc_say "creating the catalog MariaDB's datadir"
      mkdir -p "$cdc_db_dir/data"
      # Connect's stored offsets (on the broker) name binlog files of an earlier datadir.
      touch "$cdc_db_dir/new-binlog"
      # root with an empty password over TCP (loopback only), not unix_socket auth.
      mariadb-install-db --no-defaults --datadir="$cdc_db_dir/data" --user="$(id -un)" \
        --auth-root-authentication-method=normal --skip-test-db >"$cdc_db_dir/install.log" 2>&1 ||
        { tail -n 20 "$cdc_db_dir/install.log" >&2; return 1; }
    fi
    # A datadir of an earlier script names its binlogs by absolute path (see above): make them
    # relative, while no server has the index open.
    if [ -f "$cdc_db_dir/data/binlog.index" ] && ! pid_alive "$cdc_db_pidfile"; then
      sed -i 's|^.*/\(binlog\.[0-9]*\)$|./\1|' "$cdc_db_dir/data/binlog.index"
    fi
    cdc_say "starting the catalog MariaDB on 127.0.0.1:$CDC_MYSQL_PORT"
    nohup mariadbd --no-defaults --user="$(id -un)" --datadir="$cdc_db_dir/data" \
      --socket="$cdc_db_socket" --pid-file="$cdc_db_pidfile" \
      --bind-address=127.0.0.1 --port="$CDC_MYSQL_PORT" --skip-name-resolve \
      --log-error="$cdc_db_dir/mariadbd.err" \
      --server-id="$CDC_SERVER_ID" --log-bin=binlog \
      --binlog-format=ROW --binlog-row-image=FULL --expire-logs-days=1 \
      --version=5.5.5-10.11.19-log --binlog-checksum=NONE \
      --innodb-buffer-pool-size=32M --innodb-log-file-size=16M \
      --performance-schema=OFF >/dev/null 2>&1 &
    if ! wait_until 60 "the catalog MariaDB" cdc_sql -e 'SELECT 1'; then
      tail -n 20 "$cdc_db_dir/mariadbd.err" >&2
      return 1
    fi
  fi
  # The connector's account: what Debezium's MySQL connector documents for a snapshot plus
  # binlog streaming, and on MariaDB also BINLOG MONITOR (SHOW BINARY LOGS / MASTER STATUS)
  # and REPLICA MONITOR. Kept out of the binlog (sql_log_bin=0): else every `up` added four
  # statements to Debezium's schema history, which it replays on every start.
  cdc_sql <<SQL || return 1
SET SESSION sql_log_bin = 0;
CREATE DATABASE IF NOT EXISTS \`$CDC_DATABASE\`;
CREATE USER IF NOT EXISTS 'debezium'@'127.0.0.1' IDENTIFIED BY '$CDC_DEBEZIUM_PASSWORD';
CREATE USER IF NOT EXISTS 'debezium'@'localhost' IDENTIFIED BY '$CDC_DEBEZIUM_PASSWORD';
GRANT SELECT, RELOAD, SHOW DATABASES, LOCK TABLES, REPLICATION SLAVE, REPLICATION CLIENT,
  BINLOG MONITOR, REPLICA MONITOR ON *.* TO 'debezium'@'127.0.0.1', 'debezium'@'localhost';
SQL
  cdc_say "catalog MariaDB ready on 127.0.0.1:$CDC_MYSQL_PORT (database $CDC_DATABASE)"
}

# --- Kafka Connect ----------------------------------------------------------------------------
# .complete holds the checksum of the pom the jars were copied for: a changed pom copies again.
cdc_jars() {
  local want pom="$CDC_ROOT/scripts/cdc/pom.xml" plugin="$cdc_connect_plugins/debezium-connector-mysql"
  want="$(sha256sum "$pom" | cut -d' ' -f1)"
  if [ "$(cat "$cdc_connect_dir/.complete" 2>/dev/null)" != "$want" ]; then
    cdc_say "fetching Kafka Connect and Debezium from Maven Central (once; ~/.m2 caches them)"
    rm -rf "$cdc_connect_libs" "$cdc_connect_plugins"
    mkdir -p "$cdc_connect_libs" "$plugin"
    if ! { mvn -q -B -f "$pom" -P worker dependency:copy-dependencies -DoutputDirectory="$cdc_connect_libs" &&
      mvn -q -B -f "$pom" -P debezium dependency:copy-dependencies -DoutputDirectory="$plugin"; } \
      >"$cdc_connect_dir/mvn.log" 2>&1; then
      cat "$cdc_connect_dir/mvn.log" >&2
      return 1
    fi
    echo "$want" >"$cdc_connect_dir/.complete"
  fi
}

cdc_connect_config() {
  cat >"$cdc_connect_dir/connect-distributed.properties" <<PROPS
bootstrap.servers=$CDC_KAFKA
group.id=$CDC_GROUP
# Connect's own state, on the broker (auto.create.topics.enable=false there: the worker
# creates these itself). One partition and one replica: a single local broker.
config.storage.topic=$CDC_GROUP-configs
offset.storage.topic=$CDC_GROUP-offsets
status.storage.topic=$CDC_GROUP-status
config.storage.replication.factor=1
offset.storage.replication.factor=1
status.storage.replication.factor=1
offset.storage.partitions=1
status.storage.partitions=1
# Every second rather than every minute: what a crashed worker replays.
offset.flush.interval.ms=1000
# A worker killed and started again gets its connector back at once, not after the default
# five minutes Connect waits for a lost member to return; and the dead member is evicted after
# the broker's minimum session timeout.
scheduled.rebalance.max.delay.ms=0
session.timeout.ms=6000
heartbeat.interval.ms=2000
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=false
value.converter.schemas.enable=false
listeners=http://$CDC_CONNECT_LISTEN:$CDC_CONNECT_PORT
rest.advertised.host.name=$CDC_CONNECT_ADVERTISED
rest.advertised.port=$CDC_CONNECT_PORT
plugin.path=$cdc_connect_plugins
# The jars list their plugins in META-INF/services: no reflective scan of every class.
plugin.discovery=service_load
PROPS
  # Properties, not YAML like scripts/kafka/log4j2.yaml: log4j reads YAML through
  # jackson-dataformat-yaml, which the broker's jars bring and Connect's do not.
  cat >"$cdc_connect_dir/log4j2.properties" <<'LOG4J'
appender.out.type=Console
appender.out.name=STDOUT
appender.out.layout.type=PatternLayout
appender.out.layout.pattern=[%d] %p %m (%c)%n
rootLogger.level=WARN
rootLogger.appenderRef.out.ref=STDOUT
logger.connect.name=org.apache.kafka.connect
logger.connect.level=INFO
logger.debezium.name=io.debezium
logger.debezium.level=INFO
LOG4J
}

# /health answers 200 only once the worker has joined its group and read the config topic
# (KIP-1017); GET / already answers (404) while it starts.
cdc_rest_up() { curl -fsS "$cdc_rest/health" >/dev/null; }

cdc_connect_up() {
  if cdc_rest_up 2>/dev/null; then
    cdc_say "Kafka Connect already answering on $cdc_rest"
    return 0
  fi
  if pid_alive "$cdc_connect_pidfile"; then
    cdc_say "Kafka Connect (pid $(cat "$cdc_connect_pidfile")) still starting"
  else
    # Without the broker the worker would only hang in its start-up.
    local broker="${CDC_KAFKA%%,*}"
    if ! (exec 3<>"/dev/tcp/${broker%:*}/${broker##*:}") 2>/dev/null; then
      cdc_say "no Kafka broker on $broker: start it first (scripts/stack.sh up)"
      return 1
    fi
    cdc_jars || return 1
    cdc_connect_config
    cdc_say "starting Kafka Connect (distributed) on $cdc_rest"
    cdc_connect_start
  fi
  if ! wait_until 120 "Kafka Connect's /health" cdc_rest_up; then
    tail -n 40 "$cdc_connect_log" >&2
    return 1
  fi
  cdc_say "Kafka Connect ready on $cdc_rest (log: $cdc_connect_log)"
}

# The worker's command line after $CDC_JAVA (also the compose image's, in the foreground).
cdc_connect_args=(-Xms64m -Xmx256m -XX:+UseG1GC -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$cdc_connect_dir/log4j2.properties"
  -cp "$cdc_connect_libs/*" org.apache.kafka.connect.cli.ConnectDistributed
  "$cdc_connect_dir/connect-distributed.properties")

cdc_connect_start() {
  nohup "$CDC_JAVA" "${cdc_connect_args[@]}" >>"$cdc_connect_log" 2>&1 &
  echo $! >"$cdc_connect_pidfile"
}

# The connector's config (scripts/cdc/connector.json, each ${CDC_…} in it replaced by this
# script's setting), PUT whole (create or replace: idempotent). snapshot.mode=when_needed:
# a snapshot of existing rows on the first start, then the binlog; and a new snapshot rather
# than a failed task when the stored binlog position no longer exists (a recreated catalog
# datadir under kept Connect offsets). Topics: catalog.example_shop.<table>, one partition.
# heartbeat.interval.ms: a record on __debezium-heartbeat.catalog right after the start and
# then with binlog traffic, so that an offset is committed even before the first captured
# change. Without it a connector whose first snapshot found no rows had no offset; killed
# before its first change was committed, it snapshotted again on restart and those changes
# came as snapshot reads (op "r", current row) instead of their "c"/"u" events.
# poll.interval.ms=10: Debezium's queue hands Connect a batch only when it is full
# (max.batch.size, 2048) or the interval is up, so below 2048 changes per interval every change
# waits out the rest of it: with 50, 0-50 ms (`npm run bench`'s CDC split measured
# event → record p50 26, p99 54 ms). An idle task then polls 100 times a second, for nothing.
# connect.keep.alive.interval.ms: when the catalog server restarts, the binlog client does not
# reconnect at once; its keep-alive thread does, waking every interval (default 60 s) and
# reconnecting when it has read nothing for a whole interval, not even the heartbeat it asks the
# server for every 0.8 interval. With the default the changes made after a one-second restart
# arrived 85-113 s late (test/cdc/cdc-catalog.fault-spec.ts); with 1 s Debezium read again
# 1.5 s after a SIGTERM, 0.6 s after the server came back from a SIGKILL. (A reader stalled
# for longer than that reconnects too: it resumes where it was.)
cdc_connector_config() {
  CDC_MYSQL_HOST="$CDC_MYSQL_HOST" CDC_MYSQL_PORT="$CDC_MYSQL_PORT" \
    CDC_MYSQL_SSL_MODE="$CDC_MYSQL_SSL_MODE" CDC_DEBEZIUM_PASSWORD="$CDC_DEBEZIUM_PASSWORD" \
    CDC_DEBEZIUM_SERVER_ID="$CDC_DEBEZIUM_SERVER_ID" CDC_DATABASE="$CDC_DATABASE" \
    CDC_CONNECTOR="$CDC_CONNECTOR" CDC_KAFKA="$CDC_KAFKA" jq '
      walk(if type == "string" then
        gsub("\\$\\{(?<name>CDC_[A-Z_]+)\\}"; $ENV[.name] // error("unset: \(.name)"))
      else . end)' "$CDC_ROOT/scripts/cdc/connector.json"
}

cdc_connector_running() {
  curl -fsS "$cdc_rest/connectors/$CDC_CONNECTOR/status" |
    jq -e '.connector.state == "RUNNING" and (.tasks | length > 0) and all(.tasks[]; .state == "RUNNING")'
}

cdc_connector_state_is() {
  [ "$(curl -fsS "$cdc_rest/connectors/$CDC_CONNECTOR/status" | jq -r .connector.state)" = "$1" ]
}
cdc_connector_saved() { curl -fsS "$cdc_rest/connectors/$CDC_CONNECTOR/config" | jq -S 'del(.name)'; }
# A PUT rewrites the config and restarts the connector even when nothing changed: skip it
# when the saved config is the same.
cdc_connector_same() { [ "$(cdc_connector_saved 2>/dev/null)" = "$(cdc_connector_config | jq -S .)" ]; }
cdc_connector_put() {
  wait_until 60 "the connector's registration" curl -fsS -X PUT \
    -H 'Content-Type: application/json' --data "$(cdc_connector_config)" \
    "$cdc_rest/connectors/$CDC_CONNECTOR/config"
}

# Connect's RUNNING means the task's start() has returned, not that Debezium reads the binlog:
# it recovers its schema history first (a few seconds). Changes committed meanwhile are not
# lost (it resumes from its stored binlog offset) but arrive late, so `up` waits for the
# connector's "Connected to binlog" line in the log written since `from` (a byte offset).
# (grep -c, not -q: -q quits at the first match, tail dies of SIGPIPE and pipefail fails it.)
cdc_streaming_since() {
  tail -c +$(($1 + 1)) "$cdc_connect_log" | grep -c "Connected to binlog at $CDC_MYSQL_HOST:$CDC_MYSQL_PORT"
}

cdc_connector_up() { # log byte offset before the worker started, or "" if it was running
  local from=$1
  if cdc_connector_same; then
    cdc_say "connector $CDC_CONNECTOR already configured"
  else
    from="$(stat -c %s "$cdc_connect_log")"
    cdc_connector_put || return 1
  fi
  # A new catalog datadir has new binlog files: offsets stored for an earlier one would stop
  # the task ("Could not find first log file name in binary log index file"). Reset them.
  if [ -f "$cdc_db_dir/new-binlog" ]; then
    cdc_say "a new catalog datadir: resetting connector $CDC_CONNECTOR's stored offsets"
    curl -fsS -X PUT "$cdc_rest/connectors/$CDC_CONNECTOR/stop" >/dev/null &&
      wait_until 60 "connector $CDC_CONNECTOR STOPPED" cdc_connector_state_is STOPPED &&
      curl -fsS -X DELETE "$cdc_rest/connectors/$CDC_CONNECTOR/offsets" >/dev/null &&
      curl -fsS -X PUT "$cdc_rest/connectors/$CDC_CONNECTOR/resume" >/dev/null || return 1
    rm -f "$cdc_db_dir/new-binlog"
  fi
  if ! wait_until 60 "connector $CDC_CONNECTOR RUNNING" cdc_connector_running; then
    curl -sS "$cdc_rest/connectors/$CDC_CONNECTOR/status" >&2
    return 1
  fi
  if [ -n "$from" ] && ! wait_until 60 "Debezium's binlog connection" cdc_streaming_since "$from"; then
    tail -n 40 "$cdc_connect_log" >&2
    return 1
  fi
  cdc_say "connector $CDC_CONNECTOR streaming: topics $CDC_CONNECTOR.$CDC_DATABASE.<table>"
}

# docker/compose.yml's one-shot registration: the worker there is another container (no log
# file, no datadir here), so only the PUT and the wait for RUNNING.
cdc_register() {
  wait_until 120 "Kafka Connect's /health on $cdc_rest" cdc_rest_up || return 1
  if cdc_connector_same; then
    cdc_say "connector $CDC_CONNECTOR already configured"
  else
    cdc_connector_put || return 1
  fi
  if ! wait_until 60 "connector $CDC_CONNECTOR RUNNING" cdc_connector_running; then
    curl -sS "$cdc_rest/connectors/$CDC_CONNECTOR/status" >&2
    return 1
  fi
  cdc_say "connector $CDC_CONNECTOR running: topics $CDC_CONNECTOR.$CDC_DATABASE.<table>"
}

cdc_up() {
  local from=""
  cdc_mariadb_up || return 1
  if ! cdc_rest_up 2>/dev/null; then
    mkdir -p "$cdc_connect_dir" && touch "$cdc_connect_log"
    from="$(stat -c %s "$cdc_connect_log")"
  fi
  cdc_connect_up && cdc_connector_up "$from"
}

# Connect first (a stop commits its offsets), then the database it reads.
cdc_down() {
  stop_pidfile "$cdc_connect_pidfile" "Kafka Connect" 30
  stop_pidfile "$cdc_db_pidfile" "catalog MariaDB" 60
}

cdc_status() {
  cdc_sql -e 'SELECT 1' >/dev/null 2>&1 &&
    cdc_say "catalog MariaDB: up on $CDC_MYSQL_PORT" || cdc_say "catalog MariaDB: down"
  if cdc_rest_up 2>/dev/null; then
    cdc_say "Kafka Connect: up on $CDC_CONNECT_PORT"
    cdc_say "connector $CDC_CONNECTOR: $(curl -fsS "$cdc_rest/connectors/$CDC_CONNECTOR/status" 2>/dev/null |
      jq -c '{connector: .connector.state, tasks: [.tasks[]?.state]}' 2>/dev/null || echo absent)"
  else
    cdc_say "Kafka Connect: down"
  fi
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    up) cdc_up ;;
    down) cdc_down ;;
    status) cdc_status ;;
    register) cdc_register ;;
    *) echo "usage: $0 up|down|status|register" >&2; exit 2 ;;
  esac
fi
