export { kafkaClient } from './kafka-client';
export { probeKafka } from './kafka-probe';
