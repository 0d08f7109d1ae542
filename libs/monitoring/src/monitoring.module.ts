import { Global, Module } from '@nestjs/common';
import { Registry } from 'prom-client';
import { InvalidatorMetrics } from './metrics';

/** An injected registry, never prom-client's global one (no double registration in tests). */
@Global()
@Module({
  providers: [
    { provide: Registry, useFactory: () => new Registry() },
    {
      provide: InvalidatorMetrics,
      inject: [Registry],
      useFactory: (r: Registry) => new InvalidatorMetrics(r),
    },
  ],
  exports: [Registry, InvalidatorMetrics],
})
export class MonitoringModule {}
