import { Inject, Injectable } from '@nestjs/common';
import { CacheClient } from '@invalidator/client';
import { CatalogRepository } from './catalog.repository';
import { SHOP_CONFIG, ShopConfig } from './shop-config';

/**
 * The shop's read path through libs/client. Each entry names the tags whose purge must remove
 * it (the event contract's: `product:{id}`, `category:{id}`, `products`) and the types its data
 * comes from, whose versions the fill notes: a fill that raced a change is not stored.
 */
@Injectable()
export class CatalogService {
  constructor(
    private readonly catalog: CatalogRepository,
    private readonly cache: CacheClient,
    @Inject(SHOP_CONFIG) private readonly config: ShopConfig,
  ) {}

  product(id: string) {
    return this.cache.remember(
      `shop:product:${id}`,
      { tags: [`product:${id}`], ttl: this.config.CACHE_TTL_S, types: ['products'] },
      () => this.catalog.product(id).then((p) => p ?? null),
    );
  }

  /** A category page lists its products: a ProductUpdated purges `category:{c}` of them. */
  category(id: string) {
    return this.cache.remember(
      `shop:category:${id}`,
      { tags: [`category:${id}`], ttl: this.config.CACHE_TTL_S, types: ['categories', 'products'] },
      () => this.catalog.category(id).then((c) => c ?? null),
    );
  }

  /** The versions the page was built under, as a response header: `inertia.data.version`. */
  async dataVersion(): Promise<string> {
    return (await this.cache.versions()).global ?? '0';
  }
}
