import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { AppConfig, ConfigModule } from '@invalidator/config';
import { CacheModule } from '@invalidator/cache';
import { LockingModule } from '@invalidator/locking';
import { RedisModule } from '@invalidator/redis';
import { mysqlOptions } from '@invalidator/mysql';
import { VersioningModule } from '@invalidator/versioning';
import { InvalidationModule } from '@invalidator/invalidation';
import { BumpCommand } from './bump.command';
import { CheckStalenessCommand } from './check-staleness.command';
import { DeadLetterReplay } from './dead-letter-replay';
import { DlqCommand, DlqReplayCommand } from './dlq.command';
import { EventCommand } from './event.command';
import { MIGRATIONS } from './migrate';
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
        TypeOrmModule.forRoot(mysqlOptions(config, { migrations: MIGRATIONS })),
        RedisModule,
        CacheModule,
        VersioningModule,
        LockingModule,
        // The CLI runs the very same saga as the service rather than a copy of it.
        InvalidationModule.forManualBumps(),
      ],
      providers: [
        StoresReady,
        ValidateAtomicCommand,
        BumpCommand,
        CheckStalenessCommand,
        EventCommand,
        DlqCommand,
        DlqReplayCommand,
        DeadLetterReplay,
        CoherenceCheck,
        ThrowawayChecks,
      ],
    };
  }
}
