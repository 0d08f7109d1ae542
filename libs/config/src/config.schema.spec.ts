import { ConfigError, parseConfig } from './config.schema';

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    const config = parseConfig({});
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(config.MYSQL_URL).toBe('mysql://root@127.0.0.1:3306/invalidator');
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379/0');
    expect(config.HTTP_PORT).toBe(3000);
    expect(config.LOCK_TTL_MS).toBe(5000);
    expect(config.LOCK_RETRY_ATTEMPTS).toBe(3);
    expect(config.LOCK_RETRY_DELAY_MS).toBe(100);
    expect(config.ERROR_RATE_THRESHOLD).toBe(0.05);
    expect(config.ADMIN_TOKEN).toBeUndefined();
  });

  it('a bad value stops start-up with a message naming every bad variable', () => {
    let error: unknown;
    try {
      parseConfig({ HTTP_PORT: 'eighty', LOCK_TTL_MS: '-1', MYSQL_URL: 'postgres://x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    expect(message).toContain('HTTP_PORT');
    expect(message).toContain('LOCK_TTL_MS');
    expect(message).toContain('MYSQL_URL');
    expect((error as ConfigError).problems).toHaveLength(3);
  });

  it('the staleness sample runs every minute over 100 entries by default; 0 turns it off', () => {
    expect(parseConfig({})).toMatchObject({
      STALENESS_SAMPLE_INTERVAL_MS: 60000,
      STALENESS_SAMPLES: 100,
    });
    expect(parseConfig({ STALENESS_SAMPLE_INTERVAL_MS: '0' }).STALENESS_SAMPLE_INTERVAL_MS).toBe(0);
    expect(() => parseConfig({ STALENESS_SAMPLES: '0' })).toThrow('STALENESS_SAMPLES');
  });

  it('REDIS_CLUSTER_NODES is a list of host:port seed nodes; unset means a single Redis', () => {
    expect(parseConfig({}).REDIS_CLUSTER_NODES).toBeUndefined();
    expect(
      parseConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000, redis-1.svc:7001' }).REDIS_CLUSTER_NODES,
    ).toEqual([
      { host: '127.0.0.1', port: 7000 },
      { host: 'redis-1.svc', port: 7001 },
    ]);
    for (const bad of ['127.0.0.1', '127.0.0.1:7000,nope', ':7000'])
      expect(() => parseConfig({ REDIS_CLUSTER_NODES: bad })).toThrow(/REDIS_CLUSTER_NODES/);
  });

  it('topic replication defaults to the broker default (-1); 0 or a non-number stops start-up naming it', () => {
    expect(parseConfig({}).KAFKA_TOPIC_REPLICATION_FACTOR).toBe(-1);
    expect(
      parseConfig({ KAFKA_TOPIC_REPLICATION_FACTOR: '3' }).KAFKA_TOPIC_REPLICATION_FACTOR,
    ).toBe(3);
    for (const bad of ['0', 'three', '-2', '1.5'])
      expect(() => parseConfig({ KAFKA_TOPIC_REPLICATION_FACTOR: bad })).toThrow(
        /KAFKA_TOPIC_REPLICATION_FACTOR/,
      );
  });

  it('the dashboard is on with a cap of 20 clients by default; a bad flag or cap stops start-up naming it', () => {
    expect(parseConfig({}).DASHBOARD_ENABLED).toBe(true);
    expect(parseConfig({}).DASHBOARD_MAX_CLIENTS).toBe(20);
    expect(parseConfig({ DASHBOARD_ENABLED: 'false' }).DASHBOARD_ENABLED).toBe(false);
    expect(() => parseConfig({ DASHBOARD_ENABLED: 'nope' })).toThrow(/DASHBOARD_ENABLED/);
    for (const bad of ['0', 'many', '1001'])
      expect(() => parseConfig({ DASHBOARD_MAX_CLIENTS: bad })).toThrow(/DASHBOARD_MAX_CLIENTS/);
  });

  it('splits a broker list and rejects a broker without a port', () => {
    expect(parseConfig({ KAFKA_BROKERS: 'a:1, b:2' }).KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(() => parseConfig({ KAFKA_BROKERS: 'a' })).toThrow(/KAFKA_BROKERS/);
  });

  it('bounds every MySQL statement above the row-lock wait, so a lock wait is never cut off as hung', () => {
    const config = parseConfig({});
    expect(config.MYSQL_QUERY_TIMEOUT_MS).toBe(15000);
    expect(config.MYSQL_WAIT_TIMEOUT_S).toBe(20);
    expect(config.BREAKER_TIMEOUT_MS).toBe(20000);
    expect(() =>
      parseConfig({ MYSQL_QUERY_TIMEOUT_MS: '5000', VERSION_LOCK_TIMEOUT_MS: '10000' }),
    ).toThrow(/MYSQL_QUERY_TIMEOUT_MS: must be greater than VERSION_LOCK_TIMEOUT_MS/);
  });
});
