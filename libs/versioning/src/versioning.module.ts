import { Module } from '@nestjs/common';
import { CoherenceRepository } from './coherence.repository';
import { VersionAuditRepository } from './version-audit.repository';
import { VersionRepository } from './version.repository';

@Module({
  providers: [VersionRepository, VersionAuditRepository, CoherenceRepository],
  exports: [VersionRepository, VersionAuditRepository, CoherenceRepository],
})
export class VersioningModule {}
