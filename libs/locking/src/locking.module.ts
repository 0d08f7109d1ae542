import { Module } from '@nestjs/common';
import { RedisModule } from '@invalidator/redis';
import { FenceTokenRepository } from './fence-token.repository';
import { LockService } from './lock.service';
import { LockSweeper } from './lock-sweeper';
import { LockoutCounter } from './lockout-counter';

/** Redlock with fencing tokens; its own Redis client provider, not the cache's. */
@Module({
  imports: [RedisModule],
  providers: [FenceTokenRepository, LockService, LockSweeper, LockoutCounter],
  exports: [LockService, LockSweeper, LockoutCounter],
})
export class LockingModule {}
