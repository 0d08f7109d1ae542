// Waits for the secured broker (SASL_SSL, SCRAM-SHA-512, as its admin user) and grants the
// service's user what it needs and no more: its topics (shop.*, and test.* for test worlds) and
// its consumer groups (invalidator*). Exits 0 once done; 1 while the broker is not ready.
const { readFileSync } = require('node:fs');
const {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  Kafka,
  ResourcePatternTypes,
  logLevel,
} = require('kafkajs');

const env = Object.fromEntries(
  readFileSync(process.argv[2], 'utf8')
    .split('\n')
    .filter((line) => line.includes('='))
    .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
);
const kafka = new Kafka({
  clientId: 'stack-secure-init',
  brokers: [env.TEST_KAFKA_BROKERS],
  ssl: { ca: [readFileSync(env.TEST_KAFKA_TLS_CA_FILE)] },
  sasl: {
    mechanism: 'scram-sha-512',
    username: env.TEST_KAFKA_SASL_USERNAME,
    password: readFileSync(env.TEST_KAFKA_SASL_PASSWORD_FILE, 'utf8'),
  },
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

admin
  .connect()
  .then(() => admin.describeCluster())
  .then(() => admin.listGroups())
  .then(() =>
    admin.createAcls({
      acl: [
        ...allow(TOPIC, 'shop.', PREFIXED, topicOps),
        ...allow(TOPIC, 'test.', PREFIXED, topicOps),
        ...allow(GROUP, 'invalidator', PREFIXED, [op.READ, op.DESCRIBE]),
        ...allow(CLUSTER, 'kafka-cluster', LITERAL, [op.DESCRIBE]),
      ],
    }),
  )
  .then(() => admin.disconnect())
  .then(() => process.exit(0))
  .catch(() => process.exit(1));
