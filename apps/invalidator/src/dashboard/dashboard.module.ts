import { Module } from '@nestjs/common';
import { CacheModule } from '@invalidator/cache';
import { LockingModule } from '@invalidator/locking';
import { MonitoringModule } from '@invalidator/monitoring';
import { VersioningModule } from '@invalidator/versioning';
import { AdminGuardModule } from '../http/admin-guard.module';
import { DashboardController } from './dashboard.controller';
import { DashboardGateway } from './dashboard.gateway';
import { DashboardService } from './dashboard.service';
import { MetricsHistory } from './metrics-history';

/**
 * The live monitoring page, GET /dashboard, and its WebSocket feed. Imported by the app only
 * when DASHBOARD_ENABLED: off, neither the page nor the socket exists.
 */
@Module({
  imports: [AdminGuardModule, CacheModule, LockingModule, MonitoringModule, VersioningModule],
  controllers: [DashboardController],
  providers: [MetricsHistory, DashboardService, DashboardGateway],
})
export class DashboardModule {}
