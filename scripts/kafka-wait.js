// Exits 0 once the broker answers a metadata request (and its group coordinator is usable), 1
// while it does not. Given a broker address (default 127.0.0.1:9092), as anyone. Given the
// secured stack's env file (scripts/stack.sh up secure), as that broker's admin (SASL_SSL,
// SCRAM-SHA-512), and it then grants the service's user what it needs and no more: its topics
// (shop.*, and test.* for test worlds) and its consumer groups (invalidator*).
const { existsSync, readFileSync } = require('node:fs');
const {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Kafka,
  ResourcePatternTypes,
  logLevel,
} = require('kafkajs');

const arg = process.argv[2] || '127.0.0.1:9092';
const env = existsSync(arg)
  ? Object.fromEntries(
      readFileSync(arg, 'utf8')
        .split('\n')
        .filter((line) => line.includes('='))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    )
  : undefined;
const kafka = new Kafka({
  clientId: 'stack-wait',
  brokers: [env ? env.TEST_KAFKA_BROKERS : arg],
  ...(env && {
    ssl: { ca: [readFileSync(env.TEST_KAFKA_TLS_CA_FILE)] },
    sasl: {
      mechanism: 'scram-sha-512',
      username: env.TEST_KAFKA_SASL_USERNAME,
      password: readFileSync(env.TEST_KAFKA_SASL_PASSWORD_FILE, 'utf8'),
    },
  }),
  logLevel: logLevel.NOTHING,
  retry: { retries: 0 },
});
const admin = kafka.admin();

const allow = (resourceType, resourceName, resourcePatternType, operations) =>
  operations.map((operation) => ({
    resourceType,
    resourceName,
    resourcePatternType,
    principal: `User:${env.TEST_KAFKA_SERVICE_USERNAME}`,
    host: '*',
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  }));
const { TOPIC, GROUP, CLUSTER } = AclResourceTypes;
const { PREFIXED, LITERAL } = ResourcePatternTypes;
const op = AclOperationTypes;
const topicOps = [op.READ, op.WRITE, op.DESCRIBE, op.CREATE, op.DESCRIBE_CONFIGS];
const grants = () =>
  admin.createAcls({
    acl: [
      ...allow(TOPIC, 'shop.', PREFIXED, topicOps),
      ...allow(TOPIC, 'test.', PREFIXED, topicOps),
      ...allow(GROUP, 'invalidator', PREFIXED, [op.READ, op.DESCRIBE]),
      ...allow(CLUSTER, 'kafka-cluster', LITERAL, [op.DESCRIBE]),
    ],
  });

admin
  .connect()
  .then(() => admin.describeCluster())
  .then(() => admin.listGroups())
  .then(() => env && grants())
  .then(() => admin.disconnect())
  .then(() => process.exit(0))
  .catch(() => process.exit(1));
