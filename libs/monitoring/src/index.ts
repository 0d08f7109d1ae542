export { InvalidatorMetrics, METRIC } from './metrics';
export type { EventOutcome, SagaOutcome } from './metrics';
export { MonitoringModule } from './monitoring.module';
