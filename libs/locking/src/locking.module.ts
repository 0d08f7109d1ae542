import { Module } from '@nestjs/common';
import { FenceTokenRepository } from './fence-token.repository';
import { LockService } from './lock.service';

@Module({
  providers: [FenceTokenRepository, LockService],
  exports: [LockService],
})
export class LockingModule {}
