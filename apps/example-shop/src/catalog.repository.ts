import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { SHOP_CONFIG, ShopConfig } from './shop-config';

export const SHOP_POOL = Symbol('SHOP_POOL');

export interface Product {
  id: string;
  name: string;
  price: string;
  categoryIds: string[];
  updatedAt: string;
}

export interface Category {
  id: string;
  name: string;
  updatedAt: string;
}

// utf8mb4 named, not left to the server's default (latin1 on a server started --no-defaults).
/** The catalog: what the shop serves, and (SHOP_EVENTS=cdc) what the binlog announces. */
export const CATALOG_SCHEMA = [
  `CREATE TABLE IF NOT EXISTS categories (
     id VARCHAR(64) PRIMARY KEY, name VARCHAR(200) NOT NULL, updated_at DATETIME(6) NOT NULL)
     DEFAULT CHARSET = utf8mb4`,
  `CREATE TABLE IF NOT EXISTS products (
     id VARCHAR(64) PRIMARY KEY, name VARCHAR(200) NOT NULL, price DECIMAL(12, 2) NOT NULL,
     updated_at DATETIME(6) NOT NULL)
     DEFAULT CHARSET = utf8mb4`,
  // A product's categories, as ProductUpdated's categoryIds: one row each.
  `CREATE TABLE IF NOT EXISTS product_categories (
     product_id VARCHAR(64) NOT NULL, category_id VARCHAR(64) NOT NULL,
     PRIMARY KEY (product_id, category_id), INDEX (category_id, product_id))
     DEFAULT CHARSET = utf8mb4`,
];

// The outbox: written in the same transaction as the change, relayed to Kafka after it.
const OUTBOX_SCHEMA = `CREATE TABLE IF NOT EXISTS outbox (
     id BIGINT AUTO_INCREMENT PRIMARY KEY, topic VARCHAR(249) NOT NULL,
     message_key VARCHAR(64) NOT NULL, payload TEXT NOT NULL, created_at DATETIME(6) NOT NULL,
     sent_at DATETIME(6) NULL, INDEX (sent_at, id))
     DEFAULT CHARSET = utf8mb4`;

/** The tables the shop creates: with SHOP_EVENTS=cdc it writes no outbox, so has none. */
export function shopSchema(events: ShopConfig['SHOP_EVENTS']): string[] {
  return events === 'outbox' ? [...CATALOG_SCHEMA, OUTBOX_SCHEMA] : CATALOG_SCHEMA;
}

/** A product named a category the catalog does not have: the caller's fault, nothing written. */
export class UnknownCategoryError extends Error {
  constructor(readonly categoryId: string) {
    super(`no category ${categoryId}`);
    this.name = 'UnknownCategoryError';
  }
}

const PRODUCT_COLUMNS = 'p.id, p.name, p.price, p.updated_at';

/**
 * The shop's tables: its catalog and (SHOP_EVENTS=outbox) its outbox, written in the same
 * transaction as each change; with SHOP_EVENTS=cdc the rows alone, announced by the binlog.
 */
@Injectable()
export class CatalogRepository {
  constructor(
    @Inject(SHOP_POOL) private readonly pool: Pool,
    @Inject(SHOP_CONFIG) private readonly config: ShopConfig,
  ) {}

  async product(id: string): Promise<Product | undefined> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      `SELECT ${PRODUCT_COLUMNS} FROM products p WHERE p.id = ?`,
      [id],
    );
    return (await this.withCategories(rows))[0];
  }

  async category(id: string): Promise<{ category: Category; products: Product[] } | undefined> {
    const [rows] = await this.pool.query<RowDataPacket[]>(
      'SELECT id, name, updated_at FROM categories WHERE id = ?',
      [id],
    );
    if (!rows[0]) return undefined;
    const [products] = await this.pool.query<RowDataPacket[]>(
      `SELECT ${PRODUCT_COLUMNS} FROM product_categories pc JOIN products p ON p.id = pc.product_id
       WHERE pc.category_id = ? ORDER BY p.id`,
      [id],
    );
    return {
      category: { id: rows[0].id, name: rows[0].name, updatedAt: iso(rows[0].updated_at) },
      products: await this.withCategories(products),
    };
  }

  /**
   * Creates or changes a product and its categories (all of them: the ones not given are
   * removed). With the outbox, queues its ProductUpdated naming the old and the new ones.
   */
  async saveProduct(id: string, input: { name: string; price: number; categoryIds: string[] }) {
    return this.transaction(async (tx) => {
      const [existing] = await tx.query<RowDataPacket[]>(
        'SELECT id FROM products WHERE id = ? FOR UPDATE',
        [id],
      );
      const [before] = await tx.query<RowDataPacket[]>(
        'SELECT category_id FROM product_categories WHERE product_id = ? FOR UPDATE',
        [id],
      );
      if (input.categoryIds.length > 0) {
        // One query for all of them, not one per category. Compared as the table's
        // case-insensitive collation compares (ids are ASCII: the route checks them).
        const [found] = await tx.query<RowDataPacket[]>(
          'SELECT id FROM categories WHERE id IN (?)',
          [input.categoryIds],
        );
        const known = new Set(found.map((r) => String(r.id).toLowerCase()));
        const unknown = input.categoryIds.find((c) => !known.has(c.toLowerCase()));
        if (unknown !== undefined) throw new UnknownCategoryError(unknown);
      }
      await tx.query(
        `INSERT INTO products (id, name, price, updated_at) VALUES (?, ?, ?, NOW(6))
         ON DUPLICATE KEY UPDATE name = VALUES(name), price = VALUES(price), updated_at = NOW(6)`,
        [id, input.name, input.price],
      );
      // Rewritten whole, the rows that stay too: with SHOP_EVENTS=cdc each row's delete and
      // insert is what purges its category's page (the products row names no category).
      await tx.query('DELETE FROM product_categories WHERE product_id = ?', [id]);
      if (input.categoryIds.length > 0) {
        await tx.query('INSERT INTO product_categories (product_id, category_id) VALUES ?', [
          input.categoryIds.map((c) => [id, c]),
        ]);
      }
      const categoryIds = [
        ...new Set([...before.map((r) => String(r.category_id)), ...input.categoryIds]),
      ];
      await this.enqueue(tx, this.config.KAFKA_TOPIC_PRODUCT, id, {
        type: 'ProductUpdated',
        action: existing[0] ? 'updated' : 'created',
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
    // With SHOP_EVENTS=cdc the committed rows are the announcement (Debezium reads the binlog).
    if (this.config.SHOP_EVENTS === 'cdc') return;
    const payload = { eventId: randomUUID(), ...event, occurredAt: new Date().toISOString() };
    await tx.query(
      'INSERT INTO outbox (topic, message_key, payload, created_at) VALUES (?, ?, ?, NOW(6))',
      [topic, key, JSON.stringify(payload)],
    );
  }

  /** The products of `rows`, each with its categories (one query for all of them). */
  private async withCategories(rows: RowDataPacket[]): Promise<Product[]> {
    if (rows.length === 0) return [];
    const [pivot] = await this.pool.query<RowDataPacket[]>(
      `SELECT product_id, category_id FROM product_categories WHERE product_id IN (?)
       ORDER BY category_id`,
      [rows.map((r) => r.id)],
    );
    const categories = new Map<string, string[]>();
    for (const { product_id, category_id } of pivot)
      categories.set(product_id, [...(categories.get(product_id) ?? []), String(category_id)]);
    return rows.map((row) => toProduct(row, categories.get(row.id) ?? []));
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

function toProduct(row: RowDataPacket, categoryIds: string[]): Product {
  return {
    id: row.id,
    name: row.name,
    price: String(row.price),
    categoryIds,
    updatedAt: iso(row.updated_at),
  };
}

function iso(value: Date | string): string {
  return value instanceof Date ? value.toISOString() : String(value);
}
