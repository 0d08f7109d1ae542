import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { SHOP_CONFIG, ShopConfig } from './shop-config';

export const SHOP_POOL = Symbol('SHOP_POOL');

export interface Product {
  id: string;
  name: string;
  price: string;
  categoryId: string | null;
  updatedAt: string;
}

export interface Category {
  id: string;
  name: string;
  updatedAt: string;
}

// utf8mb4 named, not left to the server's default (latin1 on a server started --no-defaults).
export const SHOP_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS categories (
     id VARCHAR(64) PRIMARY KEY, name VARCHAR(200) NOT NULL, updated_at DATETIME(6) NOT NULL)
     DEFAULT CHARSET = utf8mb4`,
  `CREATE TABLE IF NOT EXISTS products (
     id VARCHAR(64) PRIMARY KEY, name VARCHAR(200) NOT NULL, price DECIMAL(12, 2) NOT NULL,
     category_id VARCHAR(64) NULL, updated_at DATETIME(6) NOT NULL, INDEX (category_id))
     DEFAULT CHARSET = utf8mb4`,
  // The outbox: written in the same transaction as the change, relayed to Kafka after it.
  `CREATE TABLE IF NOT EXISTS outbox (
     id BIGINT AUTO_INCREMENT PRIMARY KEY, topic VARCHAR(249) NOT NULL,
     message_key VARCHAR(64) NOT NULL, payload TEXT NOT NULL, created_at DATETIME(6) NOT NULL,
     sent_at DATETIME(6) NULL, INDEX (sent_at, id))
     DEFAULT CHARSET = utf8mb4`,
];

/** A product named a category the catalog does not have: the caller's fault, nothing written. */
export class UnknownCategoryError extends Error {
  constructor(readonly categoryId: string) {
    super(`no category ${categoryId}`);
    this.name = 'UnknownCategoryError';
  }
}

/** The shop's tables: its catalog and its outbox. Every change writes both in one transaction. */
@Injectable()
export class CatalogRepository {
  constructor(
    @Inject(SHOP_POOL) private readonly pool: Pool,
    @Inject(SHOP_CONFIG) private readonly config: ShopConfig,
  ) {}

  async product(id: string): Promise<Product | undefined> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT id, name, price, category_id, updated_at FROM products WHERE id = ?',
      [id],
    );
    return rows[0] ? toProduct(rows[0]) : undefined;
  }

  async category(id: string): Promise<{ category: Category; products: Product[] } | undefined> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT id, name, updated_at FROM categories WHERE id = ?',
      [id],
    );
    if (!rows[0]) return undefined;
    const [products] = await this.pool.query<RowDataPacket[]>(
      'SELECT id, name, price, category_id, updated_at FROM products WHERE category_id = ? ORDER BY id',
      [id],
    );
    return {
      category: { id: rows[0].id, name: rows[0].name, updatedAt: iso(rows[0].updated_at) },
      products: products.map(toProduct),
    };
  }

  /** Creates or changes a product and queues its ProductUpdated (old and new category). */
  async saveProduct(id: string, input: { name: string; price: number; categoryId?: string }) {
    return this.transaction(async (tx) => {
      const [before] = await tx.query<RowDataPacket[]>(
        'SELECT category_id FROM products WHERE id = ? FOR UPDATE',
        [id],
      );
      if (input.categoryId !== undefined) {
        const [category] = await tx.query<RowDataPacket[]>(
          'SELECT id FROM categories WHERE id = ?',
          [input.categoryId],
        );
        if (!category[0]) throw new UnknownCategoryError(input.categoryId);
      }
      await tx.query(
        `INSERT INTO products (id, name, price, category_id, updated_at) VALUES (?, ?, ?, ?, NOW(6))
         ON DUPLICATE KEY UPDATE name = VALUES(name), price = VALUES(price),
           category_id = VALUES(category_id), updated_at = NOW(6)`,
        [id, input.name, input.price, input.categoryId ?? null],
      );
      const categoryIds = [before[0]?.category_id, input.categoryId].filter(
        (c, i, all): c is string => typeof c === 'string' && all.indexOf(c) === i,
      );
      await this.enqueue(tx, this.config.KAFKA_TOPIC_PRODUCT, id, {
        type: 'ProductUpdated',
        action: before[0] ? 'updated' : 'created',
        productId: id,
        categoryIds,
      });
    });
  }

  async saveCategory(id: string, input: { name: string }) {
    return this.transaction(async (tx) => {
      const [result] = await tx.query<RowDataPacket[]>(
        'SELECT id FROM categories WHERE id = ? FOR UPDATE',
        [id],
      );
      await tx.query(
        `INSERT INTO categories (id, name, updated_at) VALUES (?, ?, NOW(6))
         ON DUPLICATE KEY UPDATE name = VALUES(name), updated_at = NOW(6)`,
        [id, input.name],
      );
      await this.enqueue(tx, this.config.KAFKA_TOPIC_CATEGORY, id, {
        type: 'CategoryUpdated',
        action: result[0] ? 'updated' : 'created',
        categoryId: id,
      });
    });
  }

  /** Unsent outbox rows, locked for this relay (others skip them), in a transaction of its own. */
  async relayBatch(
    limit: number,
    send: (rows: { topic: string; key: string; payload: string }[]) => Promise<void>,
  ): Promise<number> {
    return this.transaction(async (tx) => {
      const [rows] = await tx.query<RowDataPacket[]>(
        `SELECT id, topic, message_key, payload FROM outbox WHERE sent_at IS NULL
         ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED`,
        [limit],
      );
      if (rows.length === 0) return 0;
      await send(rows.map((r) => ({ topic: r.topic, key: r.message_key, payload: r.payload })));
      await tx.query('UPDATE outbox SET sent_at = NOW(6) WHERE id IN (?)', [rows.map((r) => r.id)]);
      return rows.length;
    });
  }

  async pruneOutbox(): Promise<void> {
    await this.pool.query(
      'DELETE FROM outbox WHERE sent_at < NOW(6) - INTERVAL ? SECOND LIMIT 1000',
      [this.config.OUTBOX_RETENTION_S],
    );
  }

  private async enqueue(
    tx: PoolConnection,
    topic: string,
    key: string,
    event: Record<string, unknown>,
  ): Promise<void> {
    const payload = { eventId: randomUUID(), ...event, occurredAt: new Date().toISOString() };
    await tx.query(
      'INSERT INTO outbox (topic, message_key, payload, created_at) VALUES (?, ?, ?, NOW(6))',
      [topic, key, JSON.stringify(payload)],
    );
  }

  private async transaction<T>(work: (tx: PoolConnection) => Promise<T>): Promise<T> {
    const tx = await this.pool.getConnection();
    try {
      await tx.beginTransaction();
      const result = await work(tx);
      await tx.commit();
      return result;
    } catch (error) {
      await tx.rollback().catch(() => undefined);
      throw error;
    } finally {
      tx.release();
    }
  }
}

function toProduct(row: RowDataPacket): Product {
  return {
    id: row.id,
    name: row.name,
    price: String(row.price),
    categoryId: row.category_id,
    updatedAt: iso(row.updated_at),
  };
}

function iso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : String(value);
}
