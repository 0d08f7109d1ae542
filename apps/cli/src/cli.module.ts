import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig, ConfigModule } from '@invalidator/config';
import { CacheModule } from '@invalidator/cache';
import { MonitoringModule } from '@invalidator/monitoring';
import { mysqlOptions } from '@invalidator/versioning';
// The saga is the service's; the CLI runs the very same steps rather than a copy of them.
import { SagaModule } from '../../invalidator/src/saga/saga.module';
import { BumpCommand } from './bump.command';
import { CoherenceCheck } from './checks/coherence.check';
import { ThrowawayChecks } from './checks/throwaway.checks';
import { StoresReady } from './stores-ready';
import { ValidateAtomicCommand } from './validate-atomic.command';

@Module({})
export class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [
        ConfigModule.forRoot(config),
        // Logs go to stderr: stdout carries the table or the --json report.
        LoggerModule.forRoot({ pinoHttp: { level: config.LOG_LEVEL, stream: process.stderr } }),
        TypeOrmModule.forRoot(mysqlOptions(config)),
        MonitoringModule,
        CacheModule,
        SagaModule,
      ],
      providers: [StoresReady, ValidateAtomicCommand, BumpCommand, CoherenceCheck, ThrowawayChecks],
    };
  }
}
