import { Module } from '@nestjs/common';
import { CoherenceRepository } from './coherence.repository';
import { VersionRepository } from './version.repository';

@Module({
  providers: [VersionRepository, CoherenceRepository],
  exports: [VersionRepository, CoherenceRepository],
})
export class VersioningModule {}
