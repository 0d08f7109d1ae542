/**
 * Which spec runs on which leg of .ci/run, declared once: jest.config.js reads it by TEST_LEG.
 * No imports: jest.config.js compiles this file on its own (test/support/jest-transformer.js).
 */
export type Leg = 'default' | 'node24' | 'cluster' | 'secure' | 'cdc';
export type Project = 'unit' | 'e2e' | 'faults';

/** Each leg's jest projects, and the stack it runs on (scripts/stack.sh's profiles). */
export const LEGS: Record<Leg, readonly Project[]> = {
  // Node 20 on the plain stack: `npm test`, everything.
  default: ['unit', 'e2e', 'faults'],
  // Node 24 on the plain stack: the fault cases already ran on Node 20.
  node24: ['unit', 'e2e'],
  // The plain stack with the service and the test support on its Redis Cluster (7000-7005).
  cluster: ['e2e', 'faults'],
  // The secured stack: TLS, SASL/SCRAM and least-privilege users, on their own ports.
  secure: ['e2e'],
  // The plain stack with change data capture (scripts/stack.sh's cdc profile: the catalog
  // MariaDB, Kafka Connect, Debezium): only the specs of test/cdc/ (OWN_SPECS_ONLY).
  cdc: ['e2e', 'faults'],
};

/** Legs that run only the specs under their own folder, never the unlisted ones. */
const OWN_SPECS_ONLY: Partial<Record<Leg, string>> = { cdc: 'test/cdc/' };

const PLAIN: readonly Leg[] = ['default', 'node24'];

/**
 * The specs that do not run on every leg of their project, each with the legs it runs on. A spec
 * not listed runs on every leg; a directory (ending in /) covers the specs under it that have no
 * entry of their own. test/legs.spec.ts checks that every entry names a spec that exists.
 */
export const SPECS: Record<string, readonly Leg[]> = {
  // Change data capture needs the cdc profile's Connect and catalog: on the cdc leg only.
  'test/cdc/': ['cdc'],
  // The service on a Redis Cluster (TEST_REDIS_CLUSTER_NODES); the secured stack's TLS cluster
  // has its own spec (secure-redis-cluster).
  'test/redis-cluster.e2e-spec.ts': ['cluster'],
  // The cluster's own faults: a master SIGKILLed mid-load with failover, slots migrated mid-load.
  'test/faults/redis-cluster.fault-spec.ts': ['cluster'],
  // The other fault cases break the plain stack's single Redis, broker or MariaDB: on a cluster
  // there is no one Redis to kill; the Node 24 and secured legs run no fault cases.
  'test/faults/': ['default'],
  // The secured stack's own specs need TLS, SASL and ACL users (the TEST_* settings of
  // .stack/secure/env): refused connections,
  'test/secure-connections.e2e-spec.ts': ['secure'],
  // the MySQL user split (DDL user, DML-only user),
  'test/mysql-least-privilege.e2e-spec.ts': ['secure'],
  // no secret in logs, metrics or errors,
  'test/secret-leak.e2e-spec.ts': ['secure'],
  // the TLS Redis Cluster with ACL users.
  'test/secure-redis-cluster.e2e-spec.ts': ['secure'],
  // A private redis-server killed with -9: a cluster has no one Redis to kill, and on the
  // secured stack it would be a plaintext store of its own.
  'test/lock-layer.e2e-spec.ts': PLAIN,
  // A TCP proxy in front of REDIS_URL: a cluster has no one Redis to proxy.
  'test/breaker.e2e-spec.ts': [...PLAIN, 'secure'],
  // A TCP proxy in front of REDIS_URL (the ledger's store cut mid-request).
  'test/admin-idempotency.e2e-spec.ts': [...PLAIN, 'secure'],
  // A TCP proxy in front of REDIS_URL resetting every connection at start-up.
  'test/startup-outage.e2e-spec.ts': [...PLAIN, 'secure'],
  // The browser spec: its breaker case proxies REDIS_URL (a cluster has no one Redis; on the
  // secured stack the proxy would be plaintext).
  'test/dashboard.e2e-spec.ts': PLAIN,
  // The client's staleness race: on a cluster its store is check, write, re-check, with one
  // round trip in which a refused value is readable.
  'test/client-staleness.e2e-spec.ts': [...PLAIN, 'secure'],
  // The client's local tier: it refuses a Cluster (whose subscriber connection is replaced
  // without an event), and the spec kills one web server's subscriber connection by id.
  'test/client-local-tier.e2e-spec.ts': [...PLAIN, 'secure'],
  // The example shop runs on REDIS_URL only (on the secured stack as the web tier's user).
  'test/example-shop.e2e-spec.ts': [...PLAIN, 'secure'],
  // The example shop's input checks, on REDIS_URL only.
  'test/example-shop-input.e2e-spec.ts': [...PLAIN, 'secure'],
  // The example shop's time zone, on REDIS_URL only.
  'test/example-shop-time-zone.e2e-spec.ts': [...PLAIN, 'secure'],
  // The packed client's example: REDIS_URL only, nothing cluster-specific.
  'test/client-package.e2e-spec.ts': [...PLAIN, 'secure'],
  // The Helm chart touches no store: the plain legs are enough (keeps the others short).
  'test/helm-chart.e2e-spec.ts': PLAIN,
  // promtool on the alert rules, no store of the secured stack's.
  'test/prometheus.e2e-spec.ts': [...PLAIN, 'cluster'],
  // The long CLI race: no connection of its own to secure.
  'test/cli-race.e2e-spec.ts': [...PLAIN, 'cluster'],
  // The soak's short version (about 2.5 minutes: a minute with the check and every fault, the
  // in-process tier in half the readers, a minute without): once is enough, on Node 20 in the first round of .ci/run, beside the
  // secured leg only (the second round already runs three legs on the two cores). Its faults
  // use its own redis-server and proxies, never the plain stack's stores.
  'test/soak/soak.e2e-spec.ts': ['default'],
};

/** The leg of a run: TEST_LEG, else the one of the stack its settings point at. */
export function legOf(env: Record<string, string | undefined>): Leg {
  const leg =
    env.TEST_LEG ||
    (env.TEST_SECURE === '1' ? 'secure' : env.TEST_REDIS_CLUSTER_NODES ? 'cluster' : 'default');
  if (!(leg in LEGS)) {
    throw new Error(`TEST_LEG=${leg} is not a leg of test/legs.ts (${Object.keys(LEGS)})`);
  }
  return leg as Leg;
}

/** The legs a spec runs on: its own entry, else its nearest directory's, else all. */
export function legsOf(spec: string): readonly Leg[] {
  const covering = Object.keys(SPECS)
    .filter((entry) => entry === spec || (entry.endsWith('/') && spec.startsWith(entry)))
    .sort((a, b) => b.length - a.length);
  if (covering.length) return SPECS[covering[0]];
  return (Object.keys(LEGS) as Leg[]).filter((leg) => !OWN_SPECS_ONLY[leg]);
}

const escape = (path: string): string => path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * jest's testPathIgnorePatterns for a leg: each entry not on it; a directory less those of its
 * specs that are (a lookahead).
 */
export function ignoredOn(leg: Leg): string[] {
  const own = OWN_SPECS_ONLY[leg];
  if (own) return [`<rootDir>/(?!${escape(own)})`];
  return Object.entries(SPECS)
    .filter(([, legs]) => !legs.includes(leg))
    .map(([entry]) => {
      if (!entry.endsWith('/')) return `<rootDir>/${escape(entry)}$`;
      const kept = Object.keys(SPECS)
        .filter((spec) => spec.startsWith(entry) && legsOf(spec).includes(leg))
        .map((spec) => escape(spec.slice(entry.length)));
      return `<rootDir>/${escape(entry)}${kept.length ? `(?!(?:${kept.join('|')})$)` : ''}`;
    });
}
