# The secured local stack, sourced by stack.sh (`secure-up`, `secure-down`, `up --secure`):
# a second Kafka broker with only a SASL_SSL listener (SCRAM-SHA-512) and its KRaft controller
# on SSL with client certificates required (only the broker's own is a super user), a Redis with TLS only,
# its default user off and an ACL user for the service, and a second MariaDB (its own datadir)
# with require_secure_transport=ON and a DDL user and a DML-only user, and a three-master
# Redis Cluster on TLS with the same users. Own ports and directories: it never touches the
# plain stack. Certificates and passwords are made at the
# first start (openssl), under $STACK_DIR/secure; `secure-down --purge` removes them.

SECURE_DIR="${SECURE_DIR:-$STACK_DIR/secure}"
SECURE_KAFKA_PORT="${SECURE_KAFKA_PORT:-9192}"
SECURE_KAFKA_CONTROLLER_PORT="${SECURE_KAFKA_CONTROLLER_PORT:-9193}"
SECURE_REDIS_PORT="${SECURE_REDIS_PORT:-6390}"
SECURE_MYSQL_PORT="${SECURE_MYSQL_PORT:-3307}"
SECURE_REDIS_CLUSTER_PORT="${SECURE_REDIS_CLUSTER_PORT:-7100}"

s_certs="$SECURE_DIR/certs"
s_secrets="$SECURE_DIR/secrets"
s_kafka="$SECURE_DIR/kafka"
s_redis="$SECURE_DIR/redis"
s_mysql="$SECURE_DIR/mysql"

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
  mkdir -p "$s_kafka/data"
  local jaas admin_pw ks_pw
  admin_pw="$(secret kafka-admin)"
  ks_pw="$(cat "$s_certs/keystore-password")"
  jaas="org.apache.kafka.common.security.scram.ScramLoginModule required username=\"admin\" password=\"$admin_pw\";"
  (
    umask 077
    cat >"$s_kafka/server.properties" <<PROPS
node.id=1
process.roles=broker,controller
listeners=SASL_SSL://127.0.0.1:$SECURE_KAFKA_PORT,CONTROLLER://127.0.0.1:$SECURE_KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_SSL://127.0.0.1:$SECURE_KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL
controller.quorum.voters=1@127.0.0.1:$SECURE_KAFKA_CONTROLLER_PORT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=$jaas
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
log.dirs=$s_kafka/data
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
  )
  if [ ! -f "$s_kafka/data/meta.properties" ]; then
    say "formatting the secure broker's KRaft storage with its SCRAM users"
    java -cp "$libs/*" -Dlog4j2.configurationFile="$root/scripts/kafka/log4j2.yaml" \
      kafka.tools.StorageTool format --config "$s_kafka/server.properties" \
      --cluster-id "$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)" \
      --add-scram "SCRAM-SHA-512=[name=admin,password=$admin_pw]" \
      --add-scram "SCRAM-SHA-512=[name=invalidator,password=$(secret kafka-invalidator)]" \
      --ignore-formatted >/dev/null
  fi
  say "starting the secure Kafka (SASL_SSL) on 127.0.0.1:$SECURE_KAFKA_PORT"
  nohup java -Xms128m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$root/scripts/kafka/log4j2.yaml" \
    -cp "$libs/*" kafka.Kafka "$s_kafka/server.properties" >"$s_kafka/kafka.log" 2>&1 &
  echo $! >"$s_kafka/kafka.pid"
  if ! wait_until 120 "secure Kafka" node scripts/secure-kafka-init.js "$SECURE_DIR/env"; then
    tail -n 40 "$s_kafka/kafka.log" >&2
    return 1
  fi
  say "secure Kafka ready on 127.0.0.1:$SECURE_KAFKA_PORT (users admin, invalidator; ACLs set)"
}

# The web tier's cache entries (the README's): the shop's own keys (`shop:product:{id}`) and
# those `key(type, ...)` makes for the default types (`products:v42:list`). The service's purge
# UNLINKs them, the web tier fills them: both users have these patterns.
redis_cache_entry_keys='~shop:* ~products:v* ~categories:v* ~global:v*'

# The service's user: its key patterns (a test world prefixes every key with test:) and the
# commands it runs, its scripts included; nothing like FLUSHALL, CONFIG or KEYS. The web tier's
# user (libs/client, the example shop): the versions and the announcement channel it reads, the
# tag sets and entries it fills; write access to the version keys too, because the fill's script
# declares them (it reads them) and Redis checks a script's declared keys for writing.
redis_acl_file() {
  (
    umask 077
    cat >"$1" <<ACL
user default off
user admin on >$(secret redis-admin) ~* &* +@all
user invalidator on >$(secret redis-invalidator) resetkeys ~shop.* ~inertia.* ~lock:* ~atomic_cache_metrics.* $redis_cache_entry_keys ~test:* resetchannels &* -@all +ping +echo +hello +auth +select +quit +reset +client|setname +client|getname +client|id +client|info +info +get +set +mget +exists +smembers +sadd +srem +unlink +del +pttl +ttl +pexpire +expire +srandmember +scard +scan +sscan +eval +evalsha +script|load +script|exists +wait +publish +multi +exec +discard +cluster|info +cluster|slots +cluster|nodes +cluster|shards +readonly
user web on >$(secret redis-web) resetkeys ~shop.version.* ~inertia.data.version ~shop.tag.* $redis_cache_entry_keys ~test:* resetchannels &shop.versions.changed &test:* -@all +ping +hello +auth +select +quit +reset +client|setname +client|getname +client|id +info +get +mget +set +exists +sadd +sismember +ttl +expire +unlink +eval +evalsha +script|load +subscribe +unsubscribe +cluster|info +cluster|slots +cluster|nodes +cluster|shards +readonly
ACL
  )
}

secure_redis_up() {
  mkdir -p "$s_redis"
  if [ -f "$s_redis/redis.pid" ] && kill -0 "$(cat "$s_redis/redis.pid")" 2>/dev/null; then
    say "secure Redis already running on 127.0.0.1:$SECURE_REDIS_PORT"
    return 0
  fi
  redis_acl_file "$s_redis/users.acl"
  say "starting the secure Redis (TLS only, default user off) on 127.0.0.1:$SECURE_REDIS_PORT"
  redis-server --daemonize yes --bind 127.0.0.1 --port 0 --tls-port "$SECURE_REDIS_PORT" \
    --tls-cert-file "$s_certs/server.pem" --tls-key-file "$s_certs/server-key.pem" \
    --tls-ca-cert-file "$s_certs/ca.pem" --tls-auth-clients optional \
    --aclfile "$s_redis/users.acl" --save "" --appendonly no --dir "$s_redis" \
    --logfile "$s_redis/redis.log" --pidfile "$s_redis/redis.pid"
  wait_until 30 "secure Redis" redis-cli --tls --cacert "$s_certs/ca.pem" -p "$SECURE_REDIS_PORT" \
    --user admin --pass "$(secret redis-admin)" --no-auth-warning ping
  say "secure Redis ready on 127.0.0.1:$SECURE_REDIS_PORT (users admin, invalidator)"
}

# A Redis Cluster of three masters on TLS (client and bus), with the same ACL users.
s_cluster="$SECURE_DIR/redis-cluster"
s_redis_cli() { redis-cli --tls --cacert "$s_certs/ca.pem" --user admin --pass "$(secret redis-admin)" --no-auth-warning "$@"; }

secure_redis_cluster_up() {
  local port nodes=()
  for port in $(seq "$SECURE_REDIS_CLUSTER_PORT" $((SECURE_REDIS_CLUSTER_PORT + 2))); do
    nodes+=("127.0.0.1:$port")
    if [ -f "$s_cluster/$port/redis.pid" ] && kill -0 "$(cat "$s_cluster/$port/redis.pid")" 2>/dev/null; then
      continue
    fi
    mkdir -p "$s_cluster/$port"
    redis_acl_file "$s_cluster/$port/users.acl"
    [ -f "$s_cluster/$port/nodes.conf" ] || rm -f "$s_cluster/$port/dump.rdb"
    redis-server --daemonize yes --bind 127.0.0.1 --port 0 --tls-port "$port" --tls-cluster yes \
      --tls-cert-file "$s_certs/server.pem" --tls-key-file "$s_certs/server-key.pem" \
      --tls-ca-cert-file "$s_certs/ca.pem" --tls-auth-clients optional \
      --aclfile "$s_cluster/$port/users.acl" --cluster-enabled yes \
      --cluster-config-file nodes.conf --cluster-node-timeout 2000 --save "" --appendonly no \
      --dir "$s_cluster/$port" --logfile "$s_cluster/$port/redis.log" \
      --pidfile "$s_cluster/$port/redis.pid"
    wait_until 30 "secure Redis Cluster node $port" s_redis_cli -p "$port" ping
  done
  if ! s_redis_cli -p "$SECURE_REDIS_CLUSTER_PORT" cluster info | grep -q 'cluster_state:ok'; then
    say "creating the secure Redis Cluster on ${nodes[*]}"
    s_redis_cli --cluster create "${nodes[@]}" --cluster-yes >/dev/null
    wait_until 60 "secure Redis Cluster state ok" \
      bash -c "redis-cli --tls --cacert '$s_certs/ca.pem' --user admin --pass '$(secret redis-admin)' --no-auth-warning -p $SECURE_REDIS_CLUSTER_PORT cluster info | grep -q cluster_state:ok"
  fi
  say "secure Redis Cluster ready on ${nodes[*]} (TLS, users admin, invalidator)"
}

secure_redis_cluster_down() {
  local port
  for port in $(seq "$SECURE_REDIS_CLUSTER_PORT" $((SECURE_REDIS_CLUSTER_PORT + 2))); do
    stop_pidfile "$s_cluster/$port/redis.pid" "the secure Redis Cluster node $port"
    rm -f "$s_cluster/$port/nodes.conf" "$s_cluster/$port/dump.rdb"
  done
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
  wait_until 60 "secure MariaDB" s_mysql_cli -e 'SELECT 1'
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
  secure_mysql_up && secure_redis_up && secure_redis_cluster_up && secure_kafka_up || return 1
  say "secured stack ready; its settings: ${SECURE_DIR#"$root"/}/env"
}

stop_pidfile() { # pidfile, name
  local pid
  [ -f "$1" ] || { say "no $2 started by this script is running"; return 0; }
  pid="$(cat "$1")"
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping $2 (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$1"
}

secure_down() {
  stop_pidfile "$s_kafka/kafka.pid" "the secure Kafka"
  stop_pidfile "$s_redis/redis.pid" "the secure Redis"
  secure_redis_cluster_down
  stop_pidfile "$s_mysql/mysqld.pid" "the secure MariaDB"
  if [ "${SECURE_PURGE:-0}" = 1 ]; then
    say "removing ${SECURE_DIR#"$root"/} (data, certificates, passwords)"
    rm -rf "$SECURE_DIR"
  fi
}
