import { Module } from '@nestjs/common';
import { LockingModule } from '@invalidator/locking';
import { MonitoringModule } from '@invalidator/monitoring';
import { AdminGuard } from './admin-guard';

/** One AdminGuard for the admin routes and the dashboard: one count per client. */
@Module({
  imports: [LockingModule, MonitoringModule],
  providers: [AdminGuard],
  exports: [AdminGuard],
})
export class AdminGuardModule {}
