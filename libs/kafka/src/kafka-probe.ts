import { logLevel } from 'kafkajs';
import {
  AppConfig,
  PROBE_TIMEOUT_MS,
  StoreRefusedError,
  errorChain,
  speaksTls,
  tlsFailure,
  withTimeout,
} from '@invalidator/config';
import { kafkaClient } from './kafka-client';

/** Start-up's Kafka probe: SASL refused, a TLS failure, or a listener closing the handshake. */
export async function probeKafka(config: AppConfig): Promise<void> {
  const where = config.KAFKA_BROKERS.join(',');
  const seed = config.KAFKA_BROKERS[0];
  const colon = seed.lastIndexOf(':');
  const kafka = kafkaClient(config, {
    clientId: `${config.KAFKA_CLIENT_ID}-preflight`,
    logLevel: logLevel.NOTHING,
    connectionTimeout: PROBE_TIMEOUT_MS,
    authenticationTimeout: PROBE_TIMEOUT_MS,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await withTimeout(
      admin.connect().then(() => admin.describeCluster()),
      PROBE_TIMEOUT_MS,
      'Kafka',
    );
  } catch (error) {
    const causes = errorChain(error);
    const names = causes.map((e) => e.name);
    const message = causes[causes.length - 1]?.message ?? String(error);
    if (names.includes('KafkaJSSASLAuthenticationError') || /SASL|authentication/i.test(message))
      throw new StoreRefusedError(
        'Kafka',
        where,
        message,
        'KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD',
      );
    if (tlsFailure(error))
      throw new StoreRefusedError('Kafka', where, message, 'KAFKA_TLS, KAFKA_TLS_CA_FILE');
    // A listener that expects TLS (or SASL first) closes a connection that starts otherwise.
    if (names.includes('KafkaJSConnectionClosedError')) {
      if (!config.KAFKA_TLS && (await speaksTls(seed.slice(0, colon), +seed.slice(colon + 1))))
        throw new StoreRefusedError(
          'Kafka',
          where,
          'the broker closed the plaintext connection and its listener speaks TLS',
          'KAFKA_TLS, KAFKA_SASL_MECHANISM',
        );
      if (config.KAFKA_TLS && config.KAFKA_SASL_MECHANISM === 'none')
        throw new StoreRefusedError(
          'Kafka',
          where,
          'the broker closed the connection during the handshake (does the listener expect SASL?)',
          'KAFKA_SASL_MECHANISM',
          true,
        );
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
