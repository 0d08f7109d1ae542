#!/usr/bin/env bash
# The local stack, by profile, each on its own ports and directories under $STACK_DIR:
#   plain    Apache Kafka (KRaft, combined broker+controller) from Maven Central's jars on Java 17
#            (9092), and the machine's MariaDB (3306) and Redis (6379), started only when they
#            do not answer and never stopped;
#   cluster  a Redis Cluster of 3 masters and 3 replicas with the machine's redis-server
#            (7000-7005), its settings in $STACK_DIR/redis-cluster/env;
#   secure   a second broker with only a SASL_SSL listener (SCRAM-SHA-512), its KRaft controller
#            on SSL with client certificates required (only the broker's own is a super user);
#            a Redis with TLS only, its default user off and ACL users; a three-master Redis
#            Cluster on TLS with the same users; a second MariaDB (its own datadir) with
#            require_secure_transport=ON, a DDL user and a DML-only user. Certificates and
#            passwords are made at the first start (openssl) under $STACK_DIR/secure, its
#            settings in $STACK_DIR/secure/env; `down secure --purge` removes them;
#   cdc      change data capture (scripts/cdc.sh): a catalog MariaDB with a binlog (3308) and
#            Kafka Connect with Debezium's MySQL connector (8083), writing to the plain broker.
# `up` starts the profiles named (plain when none; --redis-cluster, --secure and --cdc add
# cluster, secure and cdc to it), `down` stops those named (all when none). Idempotent: a part that answers is
# left as it is; `down` stops only what this script started (its pidfiles).
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
SECURE_DIR="${SECURE_DIR:-$STACK_DIR/secure}"
SECURE_KAFKA_PORT="${SECURE_KAFKA_PORT:-9192}"
SECURE_KAFKA_CONTROLLER_PORT="${SECURE_KAFKA_CONTROLLER_PORT:-9193}"
SECURE_REDIS_PORT="${SECURE_REDIS_PORT:-6390}"
SECURE_MYSQL_PORT="${SECURE_MYSQL_PORT:-3307}"
SECURE_REDIS_CLUSTER_PORT="${SECURE_REDIS_CLUSTER_PORT:-7100}"

libs="$STACK_DIR/kafka/libs"
kafka_dir="$STACK_DIR/kafka"
cluster_dir="$STACK_DIR/redis-cluster"
s_certs="$SECURE_DIR/certs"
s_secrets="$SECURE_DIR/secrets"
s_kafka="$SECURE_DIR/kafka"
s_redis="$SECURE_DIR/redis"
s_cluster="$SECURE_DIR/redis-cluster"
s_mysql="$SECURE_DIR/mysql"

say() { echo "stack: $*"; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# shellcheck source=scripts/processes.sh
. "$root/scripts/processes.sh"

# --- Kafka: one properties writer, one KRaft format, one start for both brokers ---------------

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

# A broker's server.properties: its listeners, the profile's own settings (stdin), then those
# every broker shares (scripts/kafka/broker.properties, docker/compose.yml's too). Owner-only: the
# secured broker's holds passwords.
kafka_properties() { # dir, port, controller port, listener protocol, controller protocol
  mkdir -p "$1/data"
  (
    umask 077
    {
      cat <<PROPS
listeners=$4://127.0.0.1:$2,CONTROLLER://127.0.0.1:$3
advertised.listeners=$4://127.0.0.1:$2
inter.broker.listener.name=$4
listener.security.protocol.map=$4:$4,CONTROLLER:$5
controller.quorum.voters=1@127.0.0.1:$3
log.dirs=$1/data
PROPS
      cat
      grep -v '^#' scripts/kafka/broker.properties
    } >"$1/server.properties"
  )
}

kafka_tool() { java -cp "$libs/*" -Dlog4j2.configurationFile="$root/scripts/kafka/log4j2.yaml" "$@"; }

kafka_format() { # dir, further StorageTool format arguments (the SCRAM users)
  local dir=$1
  shift
  [ -f "$dir/data/meta.properties" ] && return 0
  say "formatting the KRaft storage of ${dir#"$root"/}"
  kafka_tool kafka.tools.StorageTool format --config "$dir/server.properties" \
    --cluster-id "$(kafka_tool kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)" \
    "$@" --ignore-formatted >/dev/null
}

kafka_start() { # name, dir, port, initial heap, max heap, readiness command...
  local name=$1 dir=$2 port=$3 xms=$4 xmx=$5
  shift 5
  say "starting $name on 127.0.0.1:$port"
  nohup java "-Xms$xms" "-Xmx$xmx" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$root/scripts/kafka/log4j2.yaml" \
    -cp "$libs/*" kafka.Kafka "$dir/server.properties" >"$dir/kafka.log" 2>&1 &
  echo $! >"$dir/kafka.pid"
  if ! wait_until 120 "$name" "$@"; then
    tail -n 40 "$dir/kafka.log" >&2
    return 1
  fi
  say "$name ready on 127.0.0.1:$port (log: ${dir#"$root"/}/kafka.log)"
}

kafka_up() {
  if port_open "$KAFKA_PORT"; then
    say "Kafka already answering on 127.0.0.1:$KAFKA_PORT"
    return 0
  fi
  kafka_jars
  kafka_properties "$kafka_dir" "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" PLAINTEXT PLAINTEXT </dev/null
  kafka_format "$kafka_dir"
  kafka_start "Kafka (KRaft)" "$kafka_dir" "$KAFKA_PORT" 256m 768m \
    node scripts/kafka-wait.js "127.0.0.1:$KAFKA_PORT"
}

kafka_down() { stop_pidfile "$kafka_dir/kafka.pid" "Kafka"; }

# --- Redis: one daemon, one cluster bring-up for both clusters --------------------------------

redis_daemon() { # dir, further redis-server arguments
  local dir=$1
  shift
  mkdir -p "$dir"
  redis-server --daemonize yes --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
    --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" "$@"
}

cluster_ok() { "$1" -p "$2" cluster info 2>/dev/null | grep -q 'cluster_state:ok'; }

# Nodes on first port..+count-1, each under dir/<port>, started unless they answer ping; created
# as one cluster when the first node knows no other (a restarted node rejoins from nodes.conf).
redis_cluster_up() { # name, cli, dir, first port, count, replicas, node arguments (@PORT@)
  local name=$1 cli=$2 dir=$3 first=$4 count=$5 replicas=$6 port nodes=()
  shift 6
  for port in $(seq "$first" $((first + count - 1))); do
    nodes+=("127.0.0.1:$port")
    if "$cli" -p "$port" ping >/dev/null 2>&1; then continue; fi
    # A node without its cluster config starts empty: a replica's full-sync file would make
    # `--cluster create` refuse it as "not empty".
    [ -f "$dir/$port/nodes.conf" ] || rm -f "$dir/$port/dump.rdb"
    redis_daemon "$dir/$port" --cluster-enabled yes --cluster-config-file nodes.conf \
      --cluster-node-timeout 2000 "${@//@PORT@/$port}"
    wait_until 30 "$name node $port" "$cli" -p "$port" ping || return 1
  done
  if ! cluster_ok "$cli" "$first"; then
    if [ "$("$cli" -p "$first" cluster info | grep -o 'cluster_known_nodes:[0-9]*' | cut -d: -f2)" = "1" ]; then
      say "creating the $name on ${nodes[*]}"
      "$cli" --cluster create "${nodes[@]}" --cluster-replicas "$replicas" --cluster-yes >/dev/null
    fi
    wait_until 60 "$name state ok" cluster_ok "$cli" "$first" || return 1
  fi
  say "$name ready on ${nodes[*]}"
}

redis_cluster_down() { # name, dir, first port, count
  local port stopped=0
  for port in $(seq "$3" $(($3 + $4 - 1))); do
    [ -f "$2/$port/redis.pid" ] || continue
    stop_pidfile "$2/$port/redis.pid" "$1 node $port"
    rm -f "$2/$port/nodes.conf" "$2/$port/dump.rdb"
    stopped=1
  done
  [ "$stopped" = 1 ] || say "no $1 started by this script is running"
}

# --- plain and cluster ------------------------------------------------------------------------

mysql_up() {
  if ! mysqladmin --host="$MYSQL_HOST" --port="$MYSQL_PORT" --user=root ping >/dev/null 2>&1; then
    say "MariaDB not answering on $MYSQL_HOST:$MYSQL_PORT; starting it"
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    wait_until 60 "MariaDB" mysqladmin --host="$MYSQL_HOST" --port="$MYSQL_PORT" --user=root ping ||
      return 1
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
    wait_until 30 "Redis" redis-cli -p "$REDIS_PORT" ping || return 1
  fi
  say "Redis ready on 127.0.0.1:$REDIS_PORT"
}

plain_up() { mysql_up && redis_up && kafka_up; }
plain_down() { kafka_down; }

cluster_up() {
  local nodes
  redis_cluster_up "Redis Cluster" redis-cli "$cluster_dir" "$REDIS_CLUSTER_PORT" 6 1 --port @PORT@
  nodes="$(seq -f "127.0.0.1:%g" "$REDIS_CLUSTER_PORT" $((REDIS_CLUSTER_PORT + 5)) | paste -sd,)"
  mkdir -p "$cluster_dir"
  echo "TEST_REDIS_CLUSTER_NODES=$nodes" >"$cluster_dir/env"
  say "its settings: ${cluster_dir#"$root"/}/env (REDIS_CLUSTER_NODES=$nodes)"
}
cluster_down() { redis_cluster_down "Redis Cluster" "$cluster_dir" "$REDIS_CLUSTER_PORT" 6; }

# --- secure -----------------------------------------------------------------------------------

secret() { cat "$s_secrets/$1"; }

secure_certs() {
  [ -f "$s_certs/.complete" ] && return 0
  say "making a CA and server/client certificates (openssl) in ${s_certs#"$root"/}"
  mkdir -p "$s_certs"
  (
    cd "$s_certs"
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=invalidator local CA" \
      -keyout ca-key.pem -out ca.pem 2>/dev/null
    # A second CA that signs nothing of ours: a client trusting it must refuse the servers.
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=some other CA" \
      -keyout other-ca-key.pem -out other-ca.pem 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >server.ext
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server-key.pem \
      -out server.csr 2>/dev/null
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 \
      -extfile server.ext -out server.pem 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl req -newkey rsa:2048 -nodes -subj "/CN=invalidator" -keyout client-key.pem \
      -out client.csr 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 \
      -extfile client.ext -out client.pem 2>/dev/null
    openssl rand -hex 16 >keystore-password
    openssl pkcs12 -export -in server.pem -inkey server-key.pem -name broker \
      -passout "file:keystore-password" -out broker.p12
    rm -f ./*.csr ./*.ext ./*.srl
    chmod 600 ./*-key.pem keystore-password
  )
  touch "$s_certs/.complete"
}

# The KRaft controller's certificate: the one principal (User:CN=kafka-controller) its SSL
# listener lets do anything. Only the broker holds its key; made apart from the others, so a
# stack whose certificates predate it gains it without --purge.
secure_controller_cert() {
  [ -f "$s_certs/controller.p12" ] && return 0
  (
    cd "$s_certs"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >controller.ext
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kafka-controller" -keyout controller-key.pem \
      -out controller.csr 2>/dev/null
    openssl x509 -req -in controller.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 \
      -extfile controller.ext -out controller.pem 2>/dev/null
    openssl pkcs12 -export -in controller.pem -inkey controller-key.pem -name controller \
      -passout "file:keystore-password" -out controller.p12
    rm -f controller.csr controller.ext ./*.srl controller-key.pem
    chmod 600 controller.p12
  )
}

secure_secrets() {
  mkdir -p "$s_secrets"
  chmod 700 "$s_secrets"
  local name
  for name in kafka-admin kafka-invalidator redis-admin redis-invalidator redis-web mysql-admin \
    mysql-migrations mysql-invalidator admin-token; do
    # No newline at the end: the files are read as they are (a trailing newline is trimmed too).
    [ -s "$s_secrets/$name" ] || printf '%s' "$(openssl rand -hex 24)" >"$s_secrets/$name"
  done
  chmod 600 "$s_secrets"/*
}

# The environment of a secured run: what the service needs (passwords as *_FILE) and what the
# test support reads (TEST_*). `source .stack/secure/env` or pass it to `env`.
secure_env_file() {
  cat >"$SECURE_DIR/env" <<ENV
KAFKA_BROKERS=127.0.0.1:$SECURE_KAFKA_PORT
KAFKA_SASL_MECHANISM=scram-sha-512
KAFKA_SASL_USERNAME=invalidator
KAFKA_SASL_PASSWORD_FILE=$s_secrets/kafka-invalidator
KAFKA_TLS=true
KAFKA_TLS_CA_FILE=$s_certs/ca.pem
REDIS_URL=rediss://127.0.0.1:$SECURE_REDIS_PORT/0
REDIS_USERNAME=invalidator
REDIS_PASSWORD_FILE=$s_secrets/redis-invalidator
REDIS_TLS_CA_FILE=$s_certs/ca.pem
MYSQL_URL=mysql://invalidator@127.0.0.1:$SECURE_MYSQL_PORT/invalidator
MYSQL_PASSWORD_FILE=$s_secrets/mysql-invalidator
MYSQL_MIGRATIONS_USER=invalidator_migrations
MYSQL_MIGRATIONS_PASSWORD_FILE=$s_secrets/mysql-migrations
MYSQL_MIGRATIONS_RUN=false
MYSQL_TLS=true
MYSQL_TLS_CA_FILE=$s_certs/ca.pem
ADMIN_TOKEN_FILE=$s_secrets/admin-token
TEST_SECURE=1
TEST_KAFKA_CONTROLLER=127.0.0.1:$SECURE_KAFKA_CONTROLLER_PORT
TEST_KAFKA_CLASSPATH=$libs/*
TEST_SECURE_DIR=$SECURE_DIR
TEST_KAFKA_BROKERS=127.0.0.1:$SECURE_KAFKA_PORT
TEST_KAFKA_SASL_MECHANISM=scram-sha-512
TEST_KAFKA_SASL_USERNAME=admin
TEST_KAFKA_SASL_PASSWORD_FILE=$s_secrets/kafka-admin
TEST_KAFKA_SERVICE_USERNAME=invalidator
TEST_KAFKA_SERVICE_PASSWORD_FILE=$s_secrets/kafka-invalidator
TEST_KAFKA_TLS_CA_FILE=$s_certs/ca.pem
TEST_REDIS_URL=rediss://127.0.0.1:$SECURE_REDIS_PORT/0
TEST_REDIS_USERNAME=admin
TEST_REDIS_PASSWORD_FILE=$s_secrets/redis-admin
TEST_REDIS_SERVICE_USERNAME=invalidator
TEST_REDIS_SERVICE_PASSWORD_FILE=$s_secrets/redis-invalidator
TEST_REDIS_TLS_CA_FILE=$s_certs/ca.pem
TEST_REDIS_WEB_USERNAME=web
TEST_REDIS_WEB_PASSWORD_FILE=$s_secrets/redis-web
TEST_SECURE_REDIS_CLUSTER_NODES=127.0.0.1:$SECURE_REDIS_CLUSTER_PORT,127.0.0.1:$((SECURE_REDIS_CLUSTER_PORT + 1)),127.0.0.1:$((SECURE_REDIS_CLUSTER_PORT + 2))
TEST_MYSQL_URL=mysql://admin@127.0.0.1:$SECURE_MYSQL_PORT
TEST_MYSQL_PASSWORD_FILE=$s_secrets/mysql-admin
TEST_MYSQL_TLS_CA_FILE=$s_certs/ca.pem
ENV
}

secure_kafka_up() {
  if port_open "$SECURE_KAFKA_PORT"; then
    say "secure Kafka already answering on 127.0.0.1:$SECURE_KAFKA_PORT"
    return 0
  fi
  kafka_jars
  local admin_pw ks_pw
  admin_pw="$(secret kafka-admin)"
  ks_pw="$(cat "$s_certs/keystore-password")"
  kafka_properties "$s_kafka" "$SECURE_KAFKA_PORT" "$SECURE_KAFKA_CONTROLLER_PORT" SASL_SSL SSL <<PROPS
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_pw";
ssl.keystore.type=PKCS12
ssl.keystore.location=$s_certs/broker.p12
ssl.keystore.password=$ks_pw
ssl.key.password=$ks_pw
ssl.truststore.type=PEM
ssl.truststore.location=$s_certs/ca.pem
ssl.endpoint.identification.algorithm=https
listener.name.controller.ssl.client.auth=required
listener.name.controller.ssl.keystore.type=PKCS12
listener.name.controller.ssl.keystore.location=$s_certs/controller.p12
listener.name.controller.ssl.keystore.password=$ks_pw
listener.name.controller.ssl.key.password=$ks_pw
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin;User:CN=kafka-controller
allow.everyone.if.no.acl.found=false
PROPS
  kafka_format "$s_kafka" --add-scram "SCRAM-SHA-512=[name=admin,password=$admin_pw]" \
    --add-scram "SCRAM-SHA-512=[name=invalidator,password=$(secret kafka-invalidator)]"
  # Ready once the service's user has its ACLs (scripts/kafka-wait.js with the env file).
  kafka_start "the secure Kafka (SASL_SSL)" "$s_kafka" "$SECURE_KAFKA_PORT" 128m 512m \
    node scripts/kafka-wait.js "$SECURE_DIR/env"
}

# The web tier's cache entries (the README's): the shop's own keys (`shop:product:{id}`) and
# those `key(type, ...)` makes for the default types (`products:v42:list`). The service's purge
# UNLINKs them, the web tier fills them: both users have these patterns.
redis_cache_entry_keys='~shop:* ~products:v* ~categories:v* ~global:v*'

# The service's user: its key patterns (a test world prefixes every key with test:) and the
# commands it runs, its scripts included; nothing like FLUSHALL, CONFIG or KEYS. The web tier's
# user (libs/client, the example shop): the versions and the announcement channel it reads, the
# tag sets and entries it fills; write access to the version keys too, because the fill's script
# declares them (it reads them) and Redis checks a script's declared keys for writing. One file
# for the secured Redis and every node of its cluster.
secure_acl_file() {
  (
    umask 077
    cat >"$SECURE_DIR/users.acl" <<ACL
user default off
user admin on >$(secret redis-admin) ~* &* +@all
user invalidator on >$(secret redis-invalidator) resetkeys ~shop.* ~inertia.* ~lock:* ~atomic_cache_metrics.* $redis_cache_entry_keys ~test:* resetchannels &* -@all +ping +echo +hello +auth +select +quit +reset +client|setname +client|getname +client|id +client|info +info +get +set +mget +exists +smembers +sadd +srem +unlink +del +pttl +ttl +pexpire +expire +srandmember +scard +scan +sscan +eval +evalsha +script|load +script|exists +wait +publish +multi +exec +discard +cluster|info +cluster|slots +cluster|nodes +cluster|shards +readonly
user web on >$(secret redis-web) resetkeys ~shop.version.* ~inertia.data.version ~shop.tag.* $redis_cache_entry_keys ~test:* resetchannels &shop.versions.changed &test:* -@all +ping +hello +auth +select +quit +reset +client|setname +client|getname +client|id +info +get +mget +set +exists +sadd +sismember +ttl +expire +unlink +eval +evalsha +script|load +subscribe +unsubscribe +cluster|info +cluster|slots +cluster|nodes +cluster|shards +readonly
ACL
  )
}

s_redis_cli() { redis-cli --tls --cacert "$s_certs/ca.pem" --user admin --pass "$(secret redis-admin)" --no-auth-warning "$@"; }

# The TLS settings of every secured Redis (client port @PORT@, plaintext port off).
s_redis_args=(--port 0 --tls-port @PORT@ --tls-cert-file "$s_certs/server.pem"
  --tls-key-file "$s_certs/server-key.pem" --tls-ca-cert-file "$s_certs/ca.pem"
  --tls-auth-clients optional --aclfile "$SECURE_DIR/users.acl")

secure_redis_up() {
  if s_redis_cli -p "$SECURE_REDIS_PORT" ping >/dev/null 2>&1; then
    say "secure Redis already running on 127.0.0.1:$SECURE_REDIS_PORT"
    return 0
  fi
  say "starting the secure Redis (TLS only, default user off) on 127.0.0.1:$SECURE_REDIS_PORT"
  redis_daemon "$s_redis" "${s_redis_args[@]//@PORT@/$SECURE_REDIS_PORT}"
  wait_until 30 "secure Redis" s_redis_cli -p "$SECURE_REDIS_PORT" ping || return 1
  say "secure Redis ready on 127.0.0.1:$SECURE_REDIS_PORT (users admin, invalidator, web)"
}

secure_redis_cluster_up() {
  redis_cluster_up "secure Redis Cluster" s_redis_cli "$s_cluster" "$SECURE_REDIS_CLUSTER_PORT" \
    3 0 "${s_redis_args[@]}" --tls-cluster yes
}

s_mysql_cli() {
  mariadb --socket="$s_mysql/mysqld.sock" --user=root "$@"
}

secure_mysql_up() {
  if [ -f "$s_mysql/mysqld.pid" ] && kill -0 "$(cat "$s_mysql/mysqld.pid")" 2>/dev/null; then
    say "secure MariaDB already running on 127.0.0.1:$SECURE_MYSQL_PORT"
    return 0
  fi
  mkdir -p "$s_mysql"
  if [ ! -d "$s_mysql/data/mysql" ]; then
    say "initialising the secure MariaDB's datadir"
    mariadb-install-db --no-defaults --datadir="$s_mysql/data" --user=root \
      --auth-root-authentication-method=socket --skip-test-db >"$s_mysql/install.log" 2>&1
  fi
  say "starting the secure MariaDB (TLS required) on 127.0.0.1:$SECURE_MYSQL_PORT"
  # Every option on the command line, --no-defaults first: the machine's my.cnf is the shared one.
  nohup mariadbd --no-defaults --user=root --datadir="$s_mysql/data" --bind-address=127.0.0.1 \
    --port="$SECURE_MYSQL_PORT" --socket="$s_mysql/mysqld.sock" --pid-file="$s_mysql/mysqld.pid" \
    --log-error="$s_mysql/mysqld.log" --skip-name-resolve --require-secure-transport=ON \
    --ssl-ca="$s_certs/ca.pem" --ssl-cert="$s_certs/server.pem" --ssl-key="$s_certs/server-key.pem" \
    --innodb-buffer-pool-size=64M --max-connections=400 >/dev/null 2>&1 &
  wait_until 60 "secure MariaDB" s_mysql_cli -e 'SELECT 1' || return 1
  # admin: the tests' root (creates a database per test); invalidator_migrations: DDL on the
  # service's schema (npm run migrate, the Helm Job); invalidator: DML only on it.
  s_mysql_cli <<SQL
CREATE DATABASE IF NOT EXISTS invalidator;
CREATE USER IF NOT EXISTS 'admin'@'%' IDENTIFIED BY '$(secret mysql-admin)' REQUIRE SSL;
GRANT ALL PRIVILEGES ON *.* TO 'admin'@'%' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'invalidator_migrations'@'%' IDENTIFIED BY '$(secret mysql-migrations)' REQUIRE SSL;
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES ON invalidator.* TO 'invalidator_migrations'@'%';
CREATE USER IF NOT EXISTS 'invalidator'@'%' IDENTIFIED BY '$(secret mysql-invalidator)' REQUIRE SSL;
GRANT SELECT, INSERT, UPDATE, DELETE ON invalidator.* TO 'invalidator'@'%';
SQL
  say "secure MariaDB ready on 127.0.0.1:$SECURE_MYSQL_PORT (users admin, invalidator_migrations, invalidator)"
}

secure_up() {
  secure_certs
  secure_controller_cert
  secure_secrets
  secure_env_file
  secure_acl_file
  secure_mysql_up && secure_redis_up && secure_redis_cluster_up && secure_kafka_up || return 1
  say "secured stack ready; its settings: ${SECURE_DIR#"$root"/}/env"
}

secure_down() {
  stop_pidfile "$s_kafka/kafka.pid" "secure Kafka"
  stop_pidfile "$s_redis/redis.pid" "secure Redis"
  redis_cluster_down "secure Redis Cluster" "$s_cluster" "$SECURE_REDIS_CLUSTER_PORT" 3
  stop_pidfile "$s_mysql/mysqld.pid" "secure MariaDB"
  if [ "${SECURE_PURGE:-0}" = 1 ]; then
    say "removing ${SECURE_DIR#"$root"/} (data, certificates, passwords)"
    rm -rf "$SECURE_DIR"
  fi
}

status() {
  port_open "$KAFKA_PORT" && say "Kafka: up on $KAFKA_PORT" || say "Kafka: down"
  mysqladmin --host="$MYSQL_HOST" --port="$MYSQL_PORT" --user=root ping >/dev/null 2>&1 &&
    say "MariaDB: up" || say "MariaDB: down"
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && say "Redis: up" || say "Redis: down"
  cdc_status
}

# shellcheck source=scripts/cdc.sh
. "$root/scripts/cdc.sh"
# The CDC part needs the plain broker: `up cdc` brings it up first.
cdc_profile_up() { plain_up && cdc_up; }

usage() {
  echo "usage: $0 up|down [plain] [cluster] [secure] [cdc] [--redis-cluster] [--secure] [--cdc] [--purge]" >&2
  echo "       $0 status|kafka-up|kafka-down|cluster-up|cluster-down|secure-up|secure-down" >&2
  exit 2
}

# The older commands, kept: `secure-up` is `up secure`, `cluster-down` is `down cluster`, ...
command="${1:-}"
shift || true
case "$command" in
  cluster-up | cluster-down | secure-up | secure-down) set -- "${command%-*}" "$@" && command="${command#*-}" ;;
esac
profiles=() flags=()
# REDIS_CLUSTER=1 and SECURE=1 are --redis-cluster and --secure.
[ "${REDIS_CLUSTER:-0}" != 1 ] || flags+=(cluster)
[ "${SECURE:-0}" != 1 ] || flags+=(secure)
for arg in "$@"; do
  case "$arg" in
    plain | cluster | secure | cdc) profiles+=("$arg") ;;
    --redis-cluster) flags+=(cluster) ;;
    --secure) flags+=(secure) ;;
    --cdc) flags+=(cdc) ;;
    --purge) SECURE_PURGE=1 ;;
    *) echo "unknown option: $arg" >&2; usage ;;
  esac
done
# `up --redis-cluster` is `up plain cluster`; `down --redis-cluster` is `down cluster`.
if [ "$command" = up ] && [ ${#profiles[@]} = 0 ]; then profiles=(plain); fi
profiles+=("${flags[@]}")
if [ "$command" = down ] && [ ${#profiles[@]} = 0 ]; then profiles=(cdc plain cluster secure); fi

case "$command" in
  up | down)
    # Down stops the CDC part first (Connect commits its offsets to the broker on the way).
    order="plain cluster secure cdc"
    [ "$command" = up ] || order="cdc plain cluster secure"
    for profile in $order; do
      if [[ " ${profiles[*]} " == *" $profile "* ]]; then
        if [ "$profile/$command" = cdc/up ]; then cdc_profile_up; else "${profile}_$command"; fi
      fi
    done
    ;;
  # The broker alone (the broker-restart fault case): a Redis Cluster of the run stays up.
  kafka-up) kafka_up ;;
  kafka-down) kafka_down ;;
  status) status ;;
  *) usage ;;
esac
