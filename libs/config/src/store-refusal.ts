import { connect as tlsConnect } from 'node:tls';

/**
 * A store answered and refused us: wrong credentials, TLS expected or not offered, a
 * certificate not trusted. No retry can cure it, so start-up stops naming the store and the
 * settings to check (each store's probe: libs/mysql, libs/redis, libs/kafka).
 */
export class StoreRefusedError extends Error {
  constructor(
    readonly store: 'Kafka' | 'Redis' | 'MySQL',
    readonly endpoint: string,
    readonly reason: string,
    readonly hint: string,
    /** A connection closed at the handshake: a TLS listener, or a proxy with nothing behind. */
    readonly ambiguous = false,
  ) {
    super(`${store} at ${endpoint} refused the connection: ${reason} (check ${hint})`);
    this.name = 'StoreRefusedError';
  }
}

export const PROBE_TIMEOUT_MS = 10000;

const TLS_CODE =
  /^(HANDSHAKE_SSL_|HANDSHAKE_NO_SSL_SUPPORT$|ERR_TLS_|ERR_SSL_|EPROTO$|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_VERIFY_LEAF_SIGNATURE$|UNABLE_TO_GET_ISSUER_CERT|CERT_)/;

/** The error and its causes (kafkajs wraps the last failure in a retries-exceeded error). */
export function errorChain(error: unknown): Error[] {
  const out: Error[] = [];
  for (let e: unknown = error; e instanceof Error; e = (e as { cause?: unknown }).cause)
    out.push(e);
  return out;
}

export const errorCode = (error: unknown): string =>
  errorChain(error)
    .map((e) => (e as { code?: unknown }).code)
    .find((code): code is string => typeof code === 'string' && code !== '') ?? '';

export const tlsFailure = (error: unknown) => TLS_CODE.test(errorCode(error));

/**
 * Whether host:port completes a TLS handshake (its certificate not judged): tells a TLS-only
 * server that resets a plaintext client from a proxy or load balancer with nothing behind it.
 */
export function speaksTls(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host, port, rejectUnauthorized: false, timeout: 3000 });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.once('secureConnect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}
