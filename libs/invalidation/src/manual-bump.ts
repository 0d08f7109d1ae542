import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@invalidator/config';
import { dispositionOf, manualBumpEventId } from '@invalidator/contracts';
import { VersionRepository, VersionState } from '@invalidator/versioning';
import { InvalidationSaga } from './invalidation.saga';
import { withRetries } from './retry';
import { IdempotencyKeyReusedError } from './saga-errors';
import { SagaTelemetry } from './saga-telemetry';
import { SagaWork } from './saga-work';

const MANUAL_BUMP_ATTEMPTS = 12;
/** The topic of manual bumps' keys in processed_events (no Kafka partition: -1). */
const MANUAL_BUMP_TOPIC = 'manual-bump';

export interface ManualBumpCommand {
  dataTypes: string[];
  actor: string;
  /** False for validation runs: their throwaway types must not disturb `global`. Default true. */
  withGlobal?: boolean;
  /** The bump goes through processed_events under its key: it bumps once, however retried. */
  idempotencyKey: string;
}

export interface ManualBumpResult {
  versions: { dataType: string; version: number; hash: string }[];
  idempotencyKey: string;
  /**
   * The key had been applied before this attempt (an earlier request, or an earlier attempt of
   * this one that failed after its COMMIT): nothing was bumped again, `versions` is that outcome.
   */
  replayed: boolean;
  invalidatedKeys: number;
  path: 'lock' | 'fallback';
  lockWaitMs: number;
  durationMs: number;
}

/**
 * The manual atomic update (CLI and admin route): the same saga as an event, with `global`
 * bumped too and each type's own tag purged. A manual bump has no Kafka redelivery behind it,
 * so transient failures are retried here, bounded.
 */
@Injectable()
export class ManualBump implements OnModuleDestroy {
  /** Set when the application starts closing: an attempt in flight is the last one. */
  private stopping = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly saga: InvalidationSaga,
    private readonly versions: VersionRepository,
    private readonly telemetry: SagaTelemetry,
  ) {}

  async execute(command: ManualBumpCommand): Promise<ManualBumpResult> {
    const withGlobal = command.withGlobal ?? true;
    const types = [...new Set([...command.dataTypes, ...(withGlobal ? ['global'] : [])])].sort();
    const started = performance.now();
    const eventId = manualBumpEventId(command.idempotencyKey);
    const work: SagaWork = {
      events: [{ eventId, topic: MANUAL_BUMP_TOPIC, partition: -1, offset: '0', dataTypes: types }],
      dataTypes: types,
      tags: types,
      actor: command.actor,
    };
    const report = await withRetries(this.config, () => this.saga.apply(work), {
      giveUp: (error, attempts) =>
        dispositionOf(error) === 'dead-letter' || attempts >= MANUAL_BUMP_ATTEMPTS || this.stopping,
      onRetry: (error) => this.telemetry.manualBumpRetrying(error),
      check: (error) => {
        if (this.stopping) throw error;
      },
    });
    const replayed = !report.appliedEventIds.has(eventId);
    const versions = replayed
      ? await this.earlierOutcome(eventId, types, report.versions)
      : report.versions;
    return {
      versions: versions
        .filter((v) => types.includes(v.dataType))
        .map((v) => ({ dataType: v.dataType, version: Number(v.version), hash: v.hash })),
      idempotencyKey: command.idempotencyKey,
      replayed,
      invalidatedKeys: report.invalidatedKeys,
      path: report.path,
      lockWaitMs: report.lockWaitMs,
      durationMs: performance.now() - started,
    };
  }

  /** What the key's first application bumped (from the audit); refused if it bumped other types. */
  private async earlierOutcome(
    eventId: string,
    types: string[],
    current: VersionState[],
  ): Promise<VersionState[]> {
    const earlier = await this.versions.auditedOutcome(eventId);
    // Past the audit's retention: the current versions; at least nothing was bumped again.
    if (earlier.length === 0) return current;
    const earlierTypes = earlier.map((v) => v.dataType);
    if (earlierTypes.join() !== types.join())
      throw new IdempotencyKeyReusedError(types, earlierTypes);
    return earlier;
  }

  /**
   * A shutdown waits for the requests in flight: a bump retrying through an outage would hold
   * it past SHUTDOWN_TIMEOUT_MS. It fails with its last error instead (nothing half-applied).
   */
  onModuleDestroy(): void {
    this.stopping = true;
  }
}
