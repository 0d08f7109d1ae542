import { Module } from '@nestjs/common';
import { AppliedEventsRepository } from './applied-events.repository';
import { CoherenceRepository } from './coherence.repository';
import { RetentionRepository } from './retention.repository';
import { VersionAuditRepository } from './version-audit.repository';
import { VersionRepository } from './version.repository';

const REPOSITORIES = [
  VersionRepository,
  VersionAuditRepository,
  CoherenceRepository,
  AppliedEventsRepository,
  RetentionRepository,
];

@Module({ providers: REPOSITORIES, exports: REPOSITORIES })
export class VersioningModule {}
