import { DynamicModule, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { Pool } from 'mysql2/promise';
import { Registry } from 'prom-client';
import { CacheClient } from '@invalidator/client';
import { CatalogController } from './catalog.controller';
import { CatalogRepository, SHOP_POOL } from './catalog.repository';
import { CatalogService } from './catalog.service';
import { MetricsController } from './metrics.controller';
import { OutboxRelay } from './outbox.relay';
import { SHOP_CONFIG, ShopConfig, shopMysqlOptions, shopRedisOptions } from './shop-config';
import { createShopPool } from './shop-pool';

const SHOP_REDIS = Symbol('SHOP_REDIS');

@Module({})
export class ShopModule implements OnApplicationShutdown {
  constructor(
    @Inject(SHOP_POOL) private readonly pool: Pool,
    @Inject(SHOP_REDIS) private readonly redis: Redis,
    private readonly cache: CacheClient,
  ) {}

  static forRoot(config: ShopConfig): DynamicModule {
    return {
      module: ShopModule,
      controllers: [CatalogController, MetricsController],
      providers: [
        { provide: SHOP_CONFIG, useValue: config },
        {
          provide: SHOP_POOL,
          useFactory: () => createShopPool(shopMysqlOptions(config, config.SHOP_MYSQL_URL)),
        },
        { provide: Registry, useFactory: () => new Registry() },
        {
          provide: SHOP_REDIS,
          useFactory: () => new Redis(config.REDIS_URL, shopRedisOptions(config)),
        },
        {
          provide: CacheClient,
          inject: [SHOP_REDIS, Registry],
          useFactory: (redis: Redis, registry: Registry) =>
            CacheClient.connect({ redis, registry }),
        },
        CatalogRepository,
        CatalogService,
        // With SHOP_EVENTS=cdc there is no outbox to relay: Debezium reads the binlog.
        ...(config.SHOP_EVENTS === 'outbox' ? [OutboxRelay] : []),
      ],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    await this.cache.close();
    await this.redis.quit();
    await this.pool.end();
  }
}
