import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { CacheInspector } from '@invalidator/cache';

const READY_TIMEOUT_MS = 10000;

/** A command runs only once Redis is connected (MySQL's pool connects on initialization). */
@Injectable()
export class StoresReady implements OnApplicationBootstrap {
  constructor(private readonly cache: CacheInspector) {}

  onApplicationBootstrap(): Promise<void> {
    return this.cache.connected(READY_TIMEOUT_MS);
  }
}
