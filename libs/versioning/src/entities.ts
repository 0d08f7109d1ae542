import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/** Integer columns come back from mysql2 as strings when they may exceed 2^53; we keep them as strings. */
@Entity({ name: 'shop_data_versions' })
export class ShopDataVersion {
  @PrimaryColumn({ name: 'data_type', type: 'varchar', length: 64 })
  dataType!: string;

  @Column({ type: 'bigint', unsigned: true })
  version!: string;

  @Column({ type: 'char', length: 64 })
  hash!: string;

  @Column({ name: 'fence_token', type: 'bigint', unsigned: true })
  fenceToken!: string;

  @Column({ name: 'updated_at', type: 'datetime', precision: 6 })
  updatedAt!: Date;
}

@Entity({ name: 'processed_events' })
export class ProcessedEvent {
  @PrimaryColumn({ name: 'event_id', type: 'char', length: 36 })
  eventId!: string;

  @Column({ type: 'varchar', length: 255 })
  topic!: string;

  @Column({ type: 'int' })
  partition!: number;

  @Column({ type: 'bigint' })
  offset!: string;

  @Column({ name: 'processed_at', type: 'datetime', precision: 6 })
  processedAt!: Date;
}

@Entity({ name: 'version_audit' })
export class VersionAudit {
  @PrimaryGeneratedColumn({ type: 'bigint', unsigned: true })
  id!: string;

  @Column({ name: 'data_type', type: 'varchar', length: 64 })
  dataType!: string;

  @Column({ name: 'old_version', type: 'bigint', unsigned: true })
  oldVersion!: string;

  @Column({ name: 'new_version', type: 'bigint', unsigned: true })
  newVersion!: string;

  @Column({ name: 'new_hash', type: 'char', length: 64 })
  newHash!: string;

  @Column({ name: 'fence_token', type: 'bigint', unsigned: true })
  fenceToken!: string;

  @Column({ type: 'varchar', length: 128 })
  actor!: string;

  @Column({ name: 'event_ids', type: 'longtext' })
  eventIds!: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 6 })
  createdAt!: Date;
}

export const VERSIONING_ENTITIES = [ShopDataVersion, ProcessedEvent, VersionAudit];
