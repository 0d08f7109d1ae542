import Redis, { Cluster } from 'ioredis';
import { Admin, Kafka, Partitioners, Producer, logLevel } from 'kafkajs';
import mysql, { Connection, RowDataPacket } from 'mysql2/promise';
import { unpackEvents } from '@invalidator/versioning';
import { createTopicsAndWait } from '../../apps/invalidator/src/kafka/kafka-topics';
import {
  KAFKA_SECURITY,
  MYSQL_ROOT_URL,
  REDIS_SECURITY,
  TestEnv,
  clusterNodes,
  keyServers,
  mysqlTestOptions,
  newTestEnv,
  waitFor,
} from './test-env';
import { TestEvent, entityKey } from './events';

export interface AuditRow {
  data_type: string;
  old_version: string;
  new_version: string;
  new_hash: string;
  fence_token: string;
  actor: string;
  event_ids: string;
}

/**
 * Creates topics (those that exist are left as they are) and waits until each partition has a
 * leader. By hand, not kafkajs' waitForLeaders: that retries only LEADER_NOT_AVAILABLE, and a
 * KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION for a moment after the create while other
 * topics are being created (seen in CI with three legs starting at once).
 */
export async function createTopics(admin: Admin, topics: string[], partitions: number) {
  await createTopicsAndWait(
    admin,
    topics.map((topic) => ({ topic, numPartitions: partitions })),
  );
}

/**
 * A test's view of the real stack: publishes like a shop service, reads the stores like an
 * oracle, and removes everything it created when the test ends.
 */
export class World {
  readonly kafka: Kafka;
  private producer?: Promise<Producer>;
  private adminClient?: Admin;
  private root?: Connection;
  private db?: Connection;
  /** A Cluster client when the run targets a Redis Cluster (TEST_REDIS_CLUSTER_NODES). */
  readonly redis: Redis | Cluster;
  private plain?: Redis;

  private constructor(readonly env: TestEnv) {
    this.kafka = new Kafka({
      clientId: `test-${env.id}`,
      brokers: env.brokers,
      ...KAFKA_SECURITY,
      logLevel: logLevel.NOTHING,
    });
    this.redis = env.redisClusterNodes
      ? new Cluster(clusterNodes(env.redisClusterNodes), {
          keyPrefix: env.redisPrefix,
          redisOptions: REDIS_SECURITY,
        })
      : new Redis(env.redisUrl, { keyPrefix: env.redisPrefix, ...REDIS_SECURITY });
  }

  /**
   * `redisUrl`: a Redis of the test's own (a private redis-server) instead of the stack's;
   * `redisClusterNodes`: a Redis Cluster of its own (test/support/private-cluster.ts).
   */
  static async create(
    name: string,
    partitions = 6,
    options: { redisUrl?: string; redisClusterNodes?: string } = {},
  ): Promise<World> {
    const env = newTestEnv(name, partitions);
    const world = new World(
      options.redisClusterNodes
        ? { ...env, redisClusterNodes: options.redisClusterNodes }
        : options.redisUrl
          ? { ...env, redisUrl: options.redisUrl, redisClusterNodes: undefined }
          : env,
    );
    world.root = await mysql.createConnection(mysqlTestOptions(MYSQL_ROOT_URL));
    await world.root.query(`CREATE DATABASE \`${world.env.database}\``);
    world.db = await mysql.createConnection({
      ...mysqlTestOptions(world.env.mysqlUrl),
      supportBigNumbers: true,
      bigNumberStrings: true,
    });
    world.adminClient = world.kafka.admin();
    await world.adminClient.connect();
    await createTopics(world.adminClient, Object.values(world.env.topics), partitions);
    return world;
  }

  get sql(): Connection {
    if (!this.db) throw new Error('world not created');
    return this.db;
  }

  get admin(): Admin {
    if (!this.adminClient) throw new Error('world not created');
    return this.adminClient;
  }

  async publish(events: (TestEvent | { key: string; value: Buffer | string })[], topic?: string) {
    this.producer ??= this.connectProducer();
    const producer = await this.producer;
    const byTopic = new Map<string, { key: string; value: Buffer | string }[]>();
    for (const event of events) {
      const message =
        'value' in event ? event : { key: entityKey(event), value: JSON.stringify(event) };
      const target =
        topic ??
        ('type' in event && event.type === 'CategoryUpdated'
          ? this.env.topics.category
          : this.env.topics.product);
      const list = byTopic.get(target) ?? [];
      list.push(message);
      byTopic.set(target, list);
    }
    for (const [target, messages] of byTopic) {
      for (let i = 0; i < messages.length; i += 500) {
        await producer.send({ topic: target, acks: -1, messages: messages.slice(i, i + 500) });
      }
    }
  }

  private async connectProducer(): Promise<Producer> {
    const producer = this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    return producer;
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const [rows] = await this.sql.query<RowDataPacket[]>(sql, params);
    return rows as T[];
  }

  /** Waits until the events are in the inbox and the group committed `offsets` on the product topic. */
  async waitApplied(eventIds: string[], offsets: number): Promise<void> {
    await waitFor(
      'the events applied',
      async () => (await this.inboxCount(eventIds)) === eventIds.length,
    );
    await waitFor(
      'the offsets committed',
      async () => (await this.committedOffsets(this.env.topics.product)) === offsets,
    );
  }

  async versions(): Promise<Record<string, number>> {
    const rows = await this.query<{ data_type: string; version: string }>(
      'SELECT data_type, version FROM shop_data_versions',
    );
    return Object.fromEntries(rows.map((r) => [r.data_type, Number(r.version)]));
  }

  /**
   * How many applications of these events (of all events, without ids) MySQL holds: Kafka
   * events in the offset ledger's applied_batches, manual bumps' keys in processed_events. An
   * event applied twice counts twice, so `=== ids.length` proves each applied exactly once.
   */
  async inboxCount(eventIds?: string[]): Promise<number> {
    if (eventIds && eventIds.length === 0) return 0;
    if (!eventIds) {
      const [row] = await this.query<{ n: string | null; k: number }>(
        `SELECT (SELECT SUM(event_count) FROM applied_batches) AS n,
                (SELECT COUNT(*) FROM processed_events) AS k`,
      );
      return Number(row.n ?? 0) + Number(row.k);
    }
    const wanted = new Set(eventIds.map((id) => id.toLowerCase()));
    const [keyed] = await this.query<{ n: number }>(
      'SELECT COUNT(*) AS n FROM processed_events WHERE event_id IN (?)',
      [[...wanted]],
    );
    return (
      Number(keyed.n) + (await this.appliedEvents()).filter((e) => wanted.has(e.eventId)).length
    );
  }

  /** Every Kafka event the offset ledger recorded as applied, with where it was read. */
  async appliedEvents(): Promise<
    { eventId: string; topic: string; partition: number; offset: bigint }[]
  > {
    const batches = await this.query<{
      topic: string;
      partition: number;
      first_offset: string;
      event_ids: Buffer;
    }>('SELECT topic, `partition`, first_offset, event_ids FROM applied_batches ORDER BY id');
    return batches.flatMap((b) =>
      unpackEvents(b.event_ids, BigInt(b.first_offset)).map((e) => ({
        ...e,
        topic: b.topic,
        partition: b.partition,
      })),
    );
  }

  audit(): Promise<AuditRow[]> {
    return this.query<AuditRow>('SELECT * FROM version_audit ORDER BY id');
  }

  /**
   * Makes MariaDB refuse the given events every time (a trigger on the inbox signals): a
   * schema-valid message that can never be applied, the poison case.
   */
  async poison(eventIds: string[]): Promise<void> {
    await this.sql.query('CREATE TABLE IF NOT EXISTS poison_ids (event_id CHAR(36) PRIMARY KEY)');
    await this.sql.query(`
      CREATE TRIGGER IF NOT EXISTS poison_inbox BEFORE INSERT ON applied_batches FOR EACH ROW
      BEGIN
        IF EXISTS (SELECT 1 FROM poison_ids
                   WHERE LOCATE(UNHEX(REPLACE(event_id, '-', '')), NEW.event_ids) > 0) THEN
          SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by poison_inbox';
        END IF;
      END`);
    for (const id of eventIds) await this.sql.query('INSERT INTO poison_ids VALUES (?)', [id]);
  }

  /** Writes cache keys under a tag the way the web tier does. */
  async tag(tag: string, keys: string[]): Promise<void> {
    // One command per key: on a cluster the keys and the set are in different slots.
    await Promise.all(keys.map((key) => this.redis.set(key, 'cached')));
    await this.redis.sadd(`shop.tag.${tag}`, ...keys.map((k) => `${this.env.redisPrefix}${k}`));
  }

  /** GET of each key (MGET cannot span the slots of a cluster). */
  async values(keys: string[]): Promise<(string | null)[]> {
    return Promise.all(keys.map((key) => this.redis.get(key)));
  }

  /** Keys with the world's prefix on every server (every master of a cluster). */
  async redisKeys(pattern = '*'): Promise<string[]> {
    const found: string[] = [];
    for (const server of this.servers()) {
      const keys = await server.keys(`${this.env.redisPrefix}${pattern}`);
      found.push(...keys.map((k) => k.slice(this.env.redisPrefix.length)));
    }
    return found;
  }

  private servers(): Redis[] {
    return keyServers(
      this.redis,
      () => (this.plain ??= new Redis(this.env.redisUrl, REDIS_SECURITY)),
    );
  }

  async exists(key: string): Promise<boolean> {
    return (await this.redis.exists(key)) === 1;
  }

  /** Sum of committed offsets of the group over a topic (-1 partitions count as 0). */
  async committedOffsets(topic: string): Promise<number> {
    const offsets = await this.admin.fetchOffsets({ groupId: this.env.groupId, topics: [topic] });
    return offsets
      .flatMap((t) => t.partitions)
      .reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  }

  async dlqMessages(): Promise<{ value: string; headers: Record<string, string> }[]> {
    const consumer = this.kafka.consumer({ groupId: `dlq-reader-${this.env.id}-${Date.now()}` });
    const out: { value: string; headers: Record<string, string> }[] = [];
    const offsets = await this.admin.fetchTopicOffsets(this.env.topics.dlq);
    const total = offsets.reduce((s, p) => s + Number(p.high), 0);
    if (total === 0) return out;
    await consumer.connect();
    await consumer.subscribe({ topic: this.env.topics.dlq, fromBeginning: true });
    await new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
          out.push({ value: message.value?.toString() ?? '', headers });
          if (out.length >= total) resolve();
        },
      });
    });
    await consumer.disconnect();
    return out;
  }

  async close(): Promise<void> {
    await (await this.producer)?.disconnect().catch(() => undefined);
    if (this.adminClient) {
      await this.adminClient
        .deleteTopics({ topics: Object.values(this.env.topics) })
        .catch(() => undefined);
      await this.adminClient.deleteGroups([this.env.groupId]).catch(() => undefined);
      await this.adminClient.disconnect();
    }
    for (const server of this.servers()) {
      // KEYS and DEL on each master (a cluster's key is only on its own master), through
      // connections that add no prefix.
      const keys = await server.keys(`${this.env.redisPrefix}*`);
      for (const key of keys) await server.del(key).catch(() => undefined);
    }
    await this.plain?.quit();
    await this.redis.quit();
    await this.db?.end();
    await this.root?.query(`DROP DATABASE IF EXISTS \`${this.env.database}\``);
    await this.root?.end();
  }
}
