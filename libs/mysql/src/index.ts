export { inUtc, mysqlEndpoint, mysqlOptions, mysqlTls } from './mysql-options';
export { probeMysql } from './mysql-probe';
export { destroyIfTimedOut } from './query-timeout.subscriber';
