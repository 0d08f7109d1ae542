-- The Debezium connector's account on compose's catalog MySQL (run once, on a new datadir, by
-- the image's entrypoint; MYSQL_DATABASE has created example_shop). What Debezium's MySQL
-- connector documents for a snapshot plus binlog streaming; MariaDB's BINLOG MONITOR and
-- REPLICA MONITOR (scripts/cdc.sh) do not exist on MySQL. Password and name: scripts/cdc.sh's
-- CDC_DEBEZIUM_PASSWORD, the user of scripts/cdc/connector.json. Kept out of the binlog, as
-- there: Debezium would replay these statements from its schema history on every start.
SET SESSION sql_log_bin = 0;
CREATE USER IF NOT EXISTS 'debezium'@'%' IDENTIFIED BY 'debezium';
GRANT SELECT, RELOAD, SHOW DATABASES, LOCK TABLES, REPLICATION SLAVE, REPLICATION CLIENT
  ON *.* TO 'debezium'@'%';
