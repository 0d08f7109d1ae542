import { Module } from '@nestjs/common';
import { FenceTokenRepository } from './fence-token.repository';
import { LockService } from './lock.service';
import { LockSweeper } from './lock-sweeper';

@Module({
  providers: [FenceTokenRepository, LockService, LockSweeper],
  exports: [LockService, LockSweeper],
})
export class LockingModule {}
