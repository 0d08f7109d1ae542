import { Injectable } from '@nestjs/common';
import { CacheRepair } from '@invalidator/cache';
import { AlertService } from '@invalidator/monitoring';
import { THROWAWAY_TYPE_PREFIX, VersionRepository, VersionState } from '@invalidator/versioning';

export interface VersionsBehindCommand {
  /** Who found it, for the audit rows and the incident (the service's republish, the CLI). */
  actor: string;
}

export interface VersionMove {
  dataType: string;
  from: bigint;
  to: bigint;
  /** The highest version seen before: Redis's or the audit's. */
  seen: bigint;
}

export interface VersionsBehindResult {
  /** Every type's row after the repair: what Redis must show. */
  rows: VersionState[];
  moved: VersionMove[];
}

/**
 * MySQL behind what clients have seen (a restored backup, a failover to a lagging replica):
 * Redis's compare-and-set would drop every bump until MySQL passed Redis again, and then hand
 * out version numbers already used, making old `vN` keys reachable again. Found by comparing
 * Redis's versions with MySQL's before they are republished; mended by moving MySQL past the
 * highest version seen (never Redis back), with a CRITICAL incident, as MySQL lost writes.
 */
@Injectable()
export class VersionsBehind {
  constructor(
    private readonly versions: VersionRepository,
    private readonly cache: CacheRepair,
    private readonly alerts: AlertService,
  ) {}

  async execute(command: VersionsBehindCommand): Promise<VersionsBehindResult> {
    const rows = await this.versions.readAll();
    // The throwaway types of a validation run come and go under the CLI's control: not compared.
    const published = await this.cache.versionKeys(
      rows.map((r) => r.dataType).filter((t) => !t.startsWith(THROWAWAY_TYPE_PREFIX)),
    );
    const floors = new Map<string, bigint>();
    for (const [dataType, stored] of published.types)
      if (stored && Number.isSafeInteger(stored.version))
        floors.set(dataType, BigInt(stored.version));
    // The global string starts with the global version: a floor too, should its key be lost.
    const globalSeen = /^(\d+)\./.exec(published.global ?? '')?.[1];
    if (globalSeen !== undefined && BigInt(globalSeen) > (floors.get('global') ?? 0n))
      floors.set('global', BigInt(globalSeen));
    const mysqlBehind = rows.some((r) => (floors.get(r.dataType) ?? 0n) > r.version);
    const moved = mysqlBehind ? await this.versions.advancePast(floors, command.actor) : [];
    if (moved.length === 0) return { rows, moved };
    await this.alerts.raise({
      kind: 'versions_behind',
      severity: 'CRITICAL',
      message: `MySQL's versions were behind what Redis published (${moved
        .map((m) => `${m.dataType} v${m.from} < v${m.seen}`)
        .join(', ')}); moved MySQL past them`,
      correctiveAction:
        'MySQL went back (a restored backup, a failover to a lagging replica): writes after its ' +
        'last good state may be lost. Versions were moved forward, so caches stay coherent; ' +
        'check the replica or backup, and replay the events since then if the shop needs them.',
      details: {
        actor: command.actor,
        moved: moved.map((m) => ({
          data_type: m.dataType,
          from: String(m.from),
          seen: String(m.seen),
          to: String(m.to),
        })),
      },
    });
    return { rows: await this.versions.readAll(), moved };
  }
}
