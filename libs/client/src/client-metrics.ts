// Types only at load: prom-client is an optional peer, required only when a registry is given.
import type { Counter, Registry } from 'prom-client';

/** Metric names, one place: a dashboard and a grep find the same words. */
export const CLIENT_METRICS = {
  hits: 'cache_client_hits_total',
  localHits: 'cache_client_local_hits_total',
  misses: 'cache_client_misses_total',
  staleFillsRejected: 'cache_client_stale_fills_rejected_total',
  compressedBytesSaved: 'cache_client_compressed_bytes_saved_total',
} as const;

export interface ClientStats {
  hits: number;
  /** Reads answered by the in-process tier (not counted in `hits`). */
  localHits: number;
  misses: number;
  staleFillsRejected: number;
  compressedBytesSaved: number;
}

/** Counts in memory and, given the host app's registry, as Prometheus counters on it. */
export class ClientMetrics {
  private readonly counts: ClientStats = {
    hits: 0,
    localHits: 0,
    misses: 0,
    staleFillsRejected: 0,
    compressedBytesSaved: 0,
  };

  private constructor(private readonly counters?: Record<keyof ClientStats, Counter>) {}

  /** In memory only without a registry; with one, prom-client is loaded (the host app's). */
  static async create(registry?: Registry): Promise<ClientMetrics> {
    if (!registry) return new ClientMetrics();
    const { Counter } = await import('prom-client');
    const counter = (name: string, help: string) => {
      const existing = registry.getSingleMetric(name);
      return existing instanceof Counter
        ? existing
        : new Counter({ name, help, registers: [registry] });
    };
    return new ClientMetrics({
      hits: counter(CLIENT_METRICS.hits, 'Cache reads answered from Redis'),
      localHits: counter(
        CLIENT_METRICS.localHits,
        'Cache reads answered from the in-process tier, without Redis',
      ),
      misses: counter(CLIENT_METRICS.misses, 'Cache reads that ran the fill'),
      staleFillsRejected: counter(
        CLIENT_METRICS.staleFillsRejected,
        'Fills not stored because a version they noted moved during the fill',
      ),
      compressedBytesSaved: counter(
        CLIENT_METRICS.compressedBytesSaved,
        'Bytes saved by compressing large values',
      ),
    });
  }

  add(what: keyof ClientStats, amount = 1): void {
    this.counts[what] += amount;
    this.counters?.[what].inc(amount);
  }

  stats(): ClientStats {
    return { ...this.counts };
  }
}
