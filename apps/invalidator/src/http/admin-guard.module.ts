import { Module } from '@nestjs/common';
import { LockingModule } from '@invalidator/locking';
import { MonitoringModule } from '@invalidator/monitoring';
import { AdminTokenGuard } from './admin-guard';
import { AdminLockout } from './admin-lockout';

/** One AdminLockout for the admin routes and the dashboard: one count per client. */
@Module({
  imports: [LockingModule, MonitoringModule],
  providers: [AdminLockout, AdminTokenGuard],
  exports: [AdminLockout, AdminTokenGuard],
})
export class AdminGuardModule {}
