import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { RedisReadiness } from '@invalidator/redis';

const READY_TIMEOUT_MS = 10000;

/** A command runs only once Redis is connected (MySQL's pool connects on initialization). */
@Injectable()
export class StoresReady implements OnApplicationBootstrap {
  constructor(private readonly redis: RedisReadiness) {}

  onApplicationBootstrap(): Promise<void> {
    return this.redis.connected(READY_TIMEOUT_MS);
  }
}
