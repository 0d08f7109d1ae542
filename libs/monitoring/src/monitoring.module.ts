import { Module } from '@nestjs/common';
import { Registry } from 'prom-client';
import { AlertService } from './alert.service';
import { isStoreFailure } from '@invalidator/contracts';
import { BREAKER_COUNTS_FAILURE, CircuitBreakerService } from './circuit-breaker.service';
import { IncidentRepository } from './incident.repository';
import { InvalidatorMetrics } from './metrics';
import { SagaStats } from './saga-stats';

/**
 * An injected registry, never prom-client's global one (no double registration in tests).
 * Needs ConfigModule (global) and a TypeORM connection (incidents).
 */
@Module({
  providers: [
    { provide: Registry, useFactory: () => new Registry() },
    {
      provide: InvalidatorMetrics,
      inject: [Registry],
      useFactory: (r: Registry) => new InvalidatorMetrics(r),
    },
    IncidentRepository,
    AlertService,
    SagaStats,
    // Lost races, bad messages and abandoned batches say nothing about the stores' health.
    { provide: BREAKER_COUNTS_FAILURE, useValue: isStoreFailure },
    CircuitBreakerService,
  ],
  exports: [
    Registry,
    InvalidatorMetrics,
    IncidentRepository,
    AlertService,
    SagaStats,
    CircuitBreakerService,
  ],
})
export class MonitoringModule {}
