import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { MonitoringModule } from '@invalidator/monitoring';
import { RedisModule } from '@invalidator/redis';
import { VersioningModule } from '@invalidator/versioning';
import { ConsumerModule } from '../kafka/consumer.module';
import { AdminController } from './admin.controller';
import { AdminGuardModule } from './admin-guard.module';
import { EventsController } from './events.controller';
import { HealthController } from './health.controller';
import { HealthProbeLogger } from './health-probe.logger';
import { MetricsController } from './metrics.controller';
import { MonitoringController } from './monitoring.controller';
import { VersionsController } from './versions.controller';

/** The HTTP API: versions, events, health, metrics, monitoring and the admin routes. */
@Module({
  imports: [
    TerminusModule.forRoot({ logger: HealthProbeLogger }),
    AdminGuardModule,
    ConsumerModule,
    MonitoringModule,
    RedisModule,
    VersioningModule,
  ],
  controllers: [
    VersionsController,
    MetricsController,
    HealthController,
    MonitoringController,
    AdminController,
    EventsController,
  ],
})
export class HttpModule {}
