/**
 * The nines a count of checked reads (or sampled entries) vouches for, as Meta's cache
 * consistency checker reports them: -log10 of the stale ratio, or log10 of the count when none
 * is stale (no stale one in a million vouches for six nines, at least). One formula for the
 * service's staleness gauge, the CLI's check and the soak.
 */
export function freshnessNines(checked: number, stale: number): number {
  return stale === 0 ? Math.log10(Math.max(1, checked)) : -Math.log10(stale / checked);
}
