// Exits 0 once the broker answers a metadata request (and its group coordinator is usable).
const { Kafka, logLevel } = require('kafkajs');

const broker = process.argv[2] || '127.0.0.1:9092';
const kafka = new Kafka({
  clientId: 'stack-wait',
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  retry: { retries: 0 },
});
const admin = kafka.admin();

admin
  .connect()
  .then(() => admin.describeCluster())
  .then(() => admin.listGroups())
  .then(() => admin.disconnect())
  .then(() => process.exit(0))
  .catch(() => process.exit(1));
