import Redis from 'ioredis';
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  ConfigResourceTypes,
  Kafka,
  ResourcePatternTypes,
  logLevel,
} from 'kafkajs';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GLOBAL_VERSION_KEY, VERSIONS_CHANNEL, tagKey, versionKey } from '@invalidator/client';
import { ServiceProcess } from './support/service-process';
import {
  KAFKA_SECURITY,
  REDIS_SECURITY,
  REDIS_URL,
  serviceSecurityEnv,
  waitFor,
} from './support/test-env';
import { World } from './support/world';

// Collected only on the secured stack (the secure leg of test/legs.ts).
const secureDir = process.env.TEST_SECURE_DIR ?? '';
const untrustedCa = join(secureDir, 'certs', 'other-ca.pem');
const wrongPassword = join(secureDir, 'certs', 'keystore-password');

describe('connections to the secured stack', () => {
  let world: World;

  beforeAll(async () => {
    world = await World.create('securecx', 1);
  });

  afterAll(async () => {
    await world?.close();
  });

  // Each case starts the service with the secured settings but one thing wrong.
  const refusals: [string, 'Kafka' | 'Redis' | 'MySQL', Record<string, string>, RegExp][] = [
    [
      'Kafka over plaintext',
      'Kafka',
      { KAFKA_TLS: 'false', KAFKA_TLS_CA_FILE: '', KAFKA_SASL_MECHANISM: 'none' },
      /closed the plaintext connection and its listener speaks TLS.*KAFKA_TLS/,
    ],
    [
      'Kafka with TLS but without SASL',
      'Kafka',
      { KAFKA_SASL_MECHANISM: 'none' },
      /does the listener expect SASL.*KAFKA_SASL_MECHANISM/,
    ],
    [
      'Kafka with a wrong password',
      'Kafka',
      { KAFKA_SASL_PASSWORD_FILE: wrongPassword },
      /SASL SCRAM SHA512 authentication failed.*KAFKA_SASL_PASSWORD/,
    ],
    [
      'Kafka with a CA that did not sign the broker',
      'Kafka',
      { KAFKA_TLS_CA_FILE: untrustedCa },
      /certificate.*KAFKA_TLS_CA_FILE/,
    ],
    [
      'Redis over plaintext',
      'Redis',
      { REDIS_TLS: 'false', REDIS_TLS_CA_FILE: '', REDIS_URL: world0RedisPlainUrl() },
      /closed the plaintext connection and speaks TLS.*REDIS_TLS/,
    ],
    [
      'Redis as the default user (off)',
      'Redis',
      { REDIS_USERNAME: '', REDIS_PASSWORD_FILE: '' },
      /NOAUTH|WRONGPASS/,
    ],
    [
      'Redis with a wrong password',
      'Redis',
      { REDIS_PASSWORD_FILE: wrongPassword },
      /WRONGPASS.*REDIS_PASSWORD/,
    ],
    [
      'Redis with a CA that did not sign the server',
      'Redis',
      { REDIS_TLS_CA_FILE: untrustedCa },
      /certificate.*REDIS_TLS_CA_FILE/,
    ],
    [
      'MySQL over plaintext',
      'MySQL',
      { MYSQL_TLS: 'false', MYSQL_TLS_CA_FILE: '' },
      /Access denied.*MYSQL_TLS/,
    ],
    [
      'MySQL with a wrong password',
      'MySQL',
      { MYSQL_PASSWORD_FILE: wrongPassword },
      /Access denied.*MYSQL_PASSWORD/,
    ],
    [
      'MySQL with a CA that did not sign the server',
      'MySQL',
      { MYSQL_TLS_CA_FILE: untrustedCa },
      /certificate.*MYSQL_TLS_CA_FILE/,
    ],
  ];

  it.each(refusals)(
    '%s is refused: start-up stops (exit 3) naming the store',
    async (_case, store, wrong, reason) => {
      const { code, output } = await ServiceProcess.startExpectingExit(world.env, wrong);
      expect(code).toBe(3);
      expect(output).toContain('Stores refused the connection');
      const line = output.split('\n').find((l) => l.includes(`- ${store} at `));
      expect(line).toMatch(reason);
      // Only the store at fault is named.
      for (const other of ['Kafka', 'Redis', 'MySQL'].filter((s) => s !== store))
        expect(output).not.toContain(`- ${other} at `);
    },
  );

  it("the service's Redis user is refused FLUSHALL, CONFIG and KEYS, and keys outside its patterns", async () => {
    const env = serviceSecurityEnv();
    const { readFileSync } = await import('node:fs');
    const redis = new Redis(world.env.redisUrl, {
      username: env.REDIS_USERNAME,
      password: readFileSync(env.REDIS_PASSWORD_FILE, 'utf8'),
      tls: { ca: readFileSync(env.REDIS_TLS_CA_FILE) },
      maxRetriesPerRequest: 0,
    });
    try {
      expect(await redis.set(`${world.env.redisPrefix}probe`, '1')).toBe('OK');
      await expect(redis.flushall()).rejects.toThrow(/NOPERM/);
      await expect(redis.config('GET', 'requirepass')).rejects.toThrow(/NOPERM/);
      await expect(redis.keys('*')).rejects.toThrow(/NOPERM/);
      await expect(redis.set('someone-elses-key', '1')).rejects.toThrow(/NOPERM/);
    } finally {
      redis.disconnect();
    }
  });

  it("the Redis users' patterns cover the documented web-tier keys: the service's purges them, the web tier's fills and reads them", async () => {
    // The contract's names (libs/client) and the README's cache entries: a shop's own key
    // (`shop:product:{id}`) and one made by `key(type, ...)` (`products:v42:list`), unprefixed
    // as in production (a test world's `test:` prefix would hide a pattern that misses them).
    const version = versionKey('products');
    const tag = tagKey('product:1');
    const entries = ['shop:product:1', 'products:v42:list'];
    const service = process.env.TEST_REDIS_SERVICE_USERNAME ?? 'invalidator';
    const web = process.env.TEST_REDIS_WEB_USERNAME ?? 'web';
    const admin = new Redis(REDIS_URL, { ...REDIS_SECURITY, maxRetriesPerRequest: 0 });
    const dryRun = (user: string, command: (string | number)[]) =>
      admin.call('ACL', 'DRYRUN', user, ...command).then(String, (e: Error) => e.message);
    const allowed: [string, (string | number)[]][] = [
      [service, ['SET', version, '{"version":2}']],
      [service, ['SET', GLOBAL_VERSION_KEY, '{"version":2}']],
      [service, ['SMEMBERS', tag]],
      [service, ['UNLINK', tag, ...entries]],
      [service, ['PUBLISH', VERSIONS_CHANNEL, '{}']],
      [web, ['MGET', version, GLOBAL_VERSION_KEY]],
      [web, ['SUBSCRIBE', VERSIONS_CHANNEL]],
      ...entries.flatMap((entry): [string, (string | number)[]][] => [
        [web, ['GET', entry]],
        // The fill's store script declares the value, the noted versions and the tag sets.
        [web, ['EVAL', 'return 1', 3, entry, version, tag]],
        [web, ['SET', entry, 'x', 'EX', 60]],
        [web, ['UNLINK', entry]],
      ]),
      [web, ['SADD', tag, entries[0]]],
      [web, ['EXPIRE', tag, 60]],
    ];
    const refused: [string, (string | number)[]][] = [
      [web, ['FLUSHALL']],
      [web, ['KEYS', '*']],
      [web, ['CONFIG', 'GET', 'requirepass']],
      [web, ['GET', 'someone-elses-key']],
      [web, ['GET', 'lock:products']],
    ];
    try {
      const answers = async (cases: [string, (string | number)[]][]) =>
        Promise.all(
          cases.map(
            async ([user, command]) =>
              `${user} ${command.join(' ')}: ${await dryRun(user, command)}`,
          ),
        );
      expect(await answers(allowed)).toEqual(allowed.map(([u, c]) => `${u} ${c.join(' ')}: OK`));
      for (const answer of await answers(refused)) expect(answer).not.toMatch(/: OK$/);
    } finally {
      admin.disconnect();
    }
  });

  it("the service's Kafka user is refused topics and groups outside its own", async () => {
    const env = serviceSecurityEnv();
    const { readFileSync } = await import('node:fs');
    const kafka = new Kafka({
      clientId: 'secure-acl-probe',
      brokers: world.env.brokers,
      ssl: KAFKA_SECURITY.ssl,
      sasl: {
        mechanism: 'scram-sha-512',
        username: env.KAFKA_SASL_USERNAME,
        password: readFileSync(env.KAFKA_SASL_PASSWORD_FILE, 'utf8'),
      },
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const admin = kafka.admin();
    await admin.connect();
    try {
      // The broker's error type, wherever kafkajs put it (aggregated, or as a cause).
      const refusal = (error: unknown): string => {
        if (!(error instanceof Error)) return '';
        const { type, errors, cause } = error as {
          type?: string;
          errors?: unknown[];
          cause?: unknown;
        };
        return [type ?? '', error.message, ...(errors ?? []).map(refusal), refusal(cause)].join(
          ' ',
        );
      };
      const created = await admin
        .createTopics({ topics: [{ topic: `private.${world.env.id}` }] })
        .then(() => 'created', refusal);
      expect(created).toMatch(/TOPIC_AUTHORIZATION_FAILED/);
      const offsets = await admin
        .fetchOffsets({ groupId: `other-${world.env.id}` })
        .then(() => 'read', refusal);
      // kafkajs reports the refused FindCoordinator as a coordinator not found; its own group
      // (invalidator-*) answers the same call.
      expect(offsets).toMatch(/GROUP_AUTHORIZATION_FAILED|find group coordinator/);
      // On a broker just started, the offsets topic's coordinator may still be loading: that
      // passes, a refusal would not.
      const own = await waitFor('its own group answered', () =>
        admin
          .fetchOffsets({ groupId: world.env.groupId, topics: [world.env.topics.product] })
          .catch(() => undefined),
      );
      expect(own).toHaveLength(1);
      // Its own topics are allowed: the world's product topic is described.
      const metadata = await admin.fetchTopicMetadata({ topics: [world.env.topics.product] });
      expect(metadata.topics[0].name).toBe(world.env.topics.product);
    } finally {
      await admin.disconnect();
    }
  });
});

describe("the secured broker's KRaft controller listener", () => {
  // Kafka's own tools, run as an operator (or an attacker on the network) would run them, with
  // the broker's jars (TEST_KAFKA_CLASSPATH) against the controller (TEST_KAFKA_CONTROLLER).
  const controller = process.env.TEST_KAFKA_CONTROLLER ?? '127.0.0.1:9193';
  const classpath = process.env.TEST_KAFKA_CLASSPATH ?? '';
  const certs = join(secureDir, 'certs');
  const marker = `test.securectl-${process.pid}-${Date.now()}.`;
  const backoff = String(15000 + (Date.now() % 1000) + 1);
  let world: World;
  let scratch: string;

  /** A client config file: the tools' timeouts short (a refusal is seen well within them). */
  const commandConfig = (name: string, lines: string[]): string => {
    const file = join(scratch, `${name}.properties`);
    writeFileSync(
      file,
      ['request.timeout.ms=5000', 'default.api.timeout.ms=10000', ...lines].join('\n'),
    );
    return file;
  };
  const tls = (keystore: string[]) => [
    'security.protocol=SSL',
    'ssl.truststore.type=PEM',
    `ssl.truststore.location=${join(certs, 'ca.pem')}`,
    ...keystore,
  ];

  const kafkaTool = (tool: 'ConfigCommand' | 'AclCommand', args: string[], config: string) =>
    new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        'java',
        [
          '-cp',
          classpath,
          `-Dlog4j2.configurationFile=${join(__dirname, '..', 'scripts', 'kafka', 'log4j2.yaml')}`,
          `org.apache.kafka.tools.${tool}`,
          '--bootstrap-controller',
          controller,
          '--command-config',
          config,
          ...args,
        ],
        { timeout: 60000 },
        (error, stdout, stderr) =>
          resolve({
            code: error ? Number((error as { code?: unknown }).code ?? 1) || 1 : 0,
            output: `${stdout}${stderr}`,
          }),
      );
    });
  const alterBrokerConfig = (config: string) =>
    kafkaTool(
      'ConfigCommand',
      [
        '--entity-type',
        'brokers',
        '--entity-name',
        '1',
        '--alter',
        '--add-config',
        `log.cleaner.backoff.ms=${backoff}`,
      ],
      config,
    );
  const allowAnonymousEverything = (config: string) =>
    kafkaTool(
      'AclCommand',
      [
        '--add',
        '--allow-principal',
        'User:ANONYMOUS',
        '--operation',
        'All',
        '--topic',
        marker,
        '--resource-pattern-type',
        'prefixed',
        '--force',
      ],
      config,
    );

  const anonymousAcls = {
    resourceType: AclResourceTypes.ANY,
    resourcePatternType: ResourcePatternTypes.ANY,
    principal: 'User:ANONYMOUS',
    operation: AclOperationTypes.ANY,
    permissionType: AclPermissionTypes.ANY,
  };

  /** What the broker holds, read as its admin over SASL_SSL: the config and the ACLs the tools aimed at. */
  const brokerState = async () => {
    const [config] = (
      await world.admin.describeConfigs({
        includeSynonyms: false,
        resources: [
          {
            type: ConfigResourceTypes.BROKER,
            name: '1',
            configNames: ['log.cleaner.backoff.ms'],
          },
        ],
      })
    ).resources;
    const value = (name: string) =>
      config.configEntries.find((e) => e.configName === name)?.configValue;
    const acls = await world.admin.describeAcls(anonymousAcls);
    return {
      backoff: value('log.cleaner.backoff.ms'),
      anonymousAcls: acls.resources.length,
    };
  };

  beforeAll(async () => {
    world = await World.create('securectl', 1);
    scratch = mkdtempSync(join(tmpdir(), 'securectl-'));
  });

  afterAll(async () => {
    rmSync(scratch, { recursive: true, force: true });
    await world?.close();
  });

  it('no anonymous principal is a super user (the broker reports super.users as sensitive: read its file)', () => {
    const properties = readFileSync(join(secureDir, 'kafka', 'server.properties'), 'utf8');
    const superUsers = /^super\.users=(.*)$/m.exec(properties)?.[1];
    expect(superUsers?.split(';')).toEqual(['User:admin', 'User:CN=kafka-controller']);
  });

  it("the broker's own certificate is answered: the listener is up, the refusals below are refusals", async () => {
    const password = readFileSync(join(certs, 'keystore-password'), 'utf8').trim();
    const config = commandConfig(
      'controller',
      tls([
        'ssl.keystore.type=PKCS12',
        `ssl.keystore.location=${join(certs, 'controller.p12')}`,
        `ssl.keystore.password=${password}`,
      ]),
    );
    const described = await kafkaTool(
      'ConfigCommand',
      ['--entity-type', 'brokers', '--entity-name', '1', '--describe'],
      config,
    );
    expect(described).toEqual({ code: 0, output: expect.stringContaining('configs for broker 1') });
  });

  // How each is refused: plaintext gets no answer from a TLS listener, TLS without a certificate
  // fails the handshake, and a certificate that is not the broker's is authenticated and then
  // denied by the authorizer (its principal has no ACL on the cluster).
  const strangers: [string, () => string[], RegExp][] = [
    ['no credentials at all (plaintext)', () => [], /TimeoutException/],
    ['TLS without a client certificate', () => tls([]), /SslAuthenticationException/],
    [
      "a client certificate of the stack's CA that is not the broker's",
      () => {
        const pem = join(scratch, 'client-keystore.pem');
        writeFileSync(
          pem,
          readFileSync(join(certs, 'client-key.pem'), 'utf8') +
            readFileSync(join(certs, 'client.pem'), 'utf8'),
        );
        return tls(['ssl.keystore.type=PEM', `ssl.keystore.location=${pem}`]);
      },
      /ClusterAuthorizationException/,
    ],
  ];

  it.each(strangers)(
    'ConfigCommand and AclCommand with %s are refused and change nothing',
    async (name, settings, refusal) => {
      const before = await brokerState();
      const config = commandConfig(name.replace(/\W+/g, '-'), settings());
      const altered = await alterBrokerConfig(config);
      const granted = await allowAnonymousEverything(config);
      const after = await brokerState();
      // Undo what an open controller let through, so the next case starts from the same state.
      if (altered.code === 0)
        await kafkaTool(
          'ConfigCommand',
          [
            '--entity-type',
            'brokers',
            '--entity-name',
            '1',
            '--alter',
            '--delete-config',
            'log.cleaner.backoff.ms',
          ],
          config,
        );
      if (after.anonymousAcls > 0) await world.admin.deleteAcls({ filters: [anonymousAcls] });
      expect({ altered: altered.code !== 0, granted: granted.code !== 0 }).toEqual({
        altered: true,
        granted: true,
      });
      expect(altered.output).toMatch(refusal);
      expect(granted.output).toMatch(refusal);
      expect(after.backoff).toBe(before.backoff);
      expect(after.backoff).not.toBe(backoff);
      expect(after.anonymousAcls).toBe(0);
    },
  );
});

/** The secured Redis's address with the plaintext scheme. */
function world0RedisPlainUrl(): string {
  const url = new URL(process.env.TEST_REDIS_URL ?? 'rediss://127.0.0.1:6390/0');
  url.protocol = 'redis:';
  url.username = '';
  url.password = '';
  return url.toString();
}
