import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, SECRET_SETTINGS, parseConfig, secretValues } from './config.schema';

describe('secrets and TLS settings', () => {
  let dir: string;
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const problems = (env: Record<string, string>) => {
    try {
      parseConfig(env);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each(SECRET_SETTINGS)(
    '%s can be given as %s_FILE; one trailing newline is dropped',
    (name) => {
      const secret = 'a-secret-of-32-characters-000000';
      const env = {
        [`${name}_FILE`]: file('secret', `${secret}\n`),
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'invalidator',
        KAFKA_SASL_PASSWORD: 'kafka-password',
      };
      if (name === 'KAFKA_SASL_PASSWORD') delete (env as Record<string, string>)[name];
      expect(parseConfig(env)[name]).toBe(secret);
    },
  );

  it.each(SECRET_SETTINGS)(
    '%s and its _FILE both set stop start-up naming it, without the secret',
    (name) => {
      const found = problems({
        [name]: 'inline-secret-0123456789',
        [`${name}_FILE`]: file('s', 'x'),
      });
      expect(found).toContainEqual(
        `${name}_FILE: ${name} and ${name}_FILE are both set; set one of them`,
      );
      expect(found.join('\n')).not.toContain('inline-secret-0123456789');
    },
  );

  it('an unreadable or empty secret file stops start-up naming the setting and the path', () => {
    expect(problems({ ADMIN_TOKEN_FILE: join(dir, 'missing') })).toEqual([
      `ADMIN_TOKEN_FILE: cannot read ${join(dir, 'missing')} (ENOENT)`,
    ]);
    expect(problems({ REDIS_PASSWORD_FILE: file('empty', '\n') })).toEqual([
      `REDIS_PASSWORD_FILE: the file ${join(dir, 'empty')} is empty`,
    ]);
  });

  it('a secret read from a file is still validated (ADMIN_TOKEN at least 16 characters)', () => {
    const found = problems({ ADMIN_TOKEN_FILE: file('short', 'short-token') });
    expect(found).toEqual(['ADMIN_TOKEN: must be at least 16 characters']);
    expect(found.join('\n')).not.toContain('short-token');
  });

  it('Kafka SASL needs a user and a password; the mechanism must be a known one', () => {
    expect(parseConfig({}).KAFKA_SASL_MECHANISM).toBe('none');
    expect(problems({ KAFKA_SASL_MECHANISM: 'scram-sha-512' })).toEqual([
      'KAFKA_SASL_USERNAME: required with a SASL mechanism',
      'KAFKA_SASL_PASSWORD: required with a SASL mechanism (or KAFKA_SASL_PASSWORD_FILE)',
    ]);
    expect(problems({ KAFKA_SASL_MECHANISM: 'kerberos' })[0]).toMatch(/^KAFKA_SASL_MECHANISM: /);
  });

  it('TLS files must be readable, come with TLS on, and a certificate with its key', () => {
    const ca = file('ca.pem', 'pem');
    expect(problems({ MYSQL_TLS: 'true', MYSQL_TLS_CA_FILE: join(dir, 'nope.pem') })).toEqual([
      'MYSQL_TLS_CA_FILE: must name a readable file',
    ]);
    expect(problems({ KAFKA_TLS_CA_FILE: ca })).toEqual([
      'KAFKA_TLS: must be true when KAFKA_TLS_* files are set',
    ]);
    expect(problems({ KAFKA_TLS: 'true', KAFKA_TLS_CERT_FILE: ca })).toEqual([
      'KAFKA_TLS_KEY_FILE: set with KAFKA_TLS_CERT_FILE or neither',
    ]);
    expect(parseConfig({ MYSQL_TLS: 'true', MYSQL_TLS_CA_FILE: ca }).MYSQL_TLS_CA_FILE).toBe(ca);
  });

  it('a rediss:// URL turns Redis TLS on; REDIS_TLS does it for a cluster', () => {
    expect(parseConfig({}).REDIS_TLS).toBe(false);
    expect(parseConfig({ REDIS_URL: 'rediss://cache:6380/0' }).REDIS_TLS).toBe(true);
    expect(parseConfig({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_TLS: 'true' }).REDIS_TLS).toBe(true);
    expect(
      parseConfig({ REDIS_TLS_CA_FILE: file('ca.pem', 'pem'), REDIS_URL: 'rediss://c:1/0' })
        .REDIS_TLS,
    ).toBe(true);
  });

  it('secretValues lists every secret set, passwords in URLs included', () => {
    const config = parseConfig({
      ADMIN_TOKEN: 'admin-token-0123456789',
      MYSQL_URL: 'mysql://u:url%40pass@db:3306/x',
      REDIS_PASSWORD: 'redis-pass',
    });
    expect(secretValues(config)).toEqual(
      expect.arrayContaining(['admin-token-0123456789', 'redis-pass', 'url@pass', 'url%40pass']),
    );
  });

  it('the admin lockout and the body limit have their defaults and bounds', () => {
    const config = parseConfig({});
    expect(config.ADMIN_LOCKOUT_ATTEMPTS).toBe(10);
    expect(config.ADMIN_LOCKOUT_WINDOW_MS).toBe(60000);
    expect(config.HTTP_BODY_LIMIT_BYTES).toBe(4096);
    expect(problems({ ADMIN_LOCKOUT_ATTEMPTS: '0', HTTP_BODY_LIMIT_BYTES: 'big' })).toHaveLength(2);
  });
});
