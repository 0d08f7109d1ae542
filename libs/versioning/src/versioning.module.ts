import { Module } from '@nestjs/common';
import { VersionRepository } from './version.repository';

@Module({
  providers: [VersionRepository],
  exports: [VersionRepository],
})
export class VersioningModule {}
