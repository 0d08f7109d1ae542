import { freshnessNines } from './freshness-nines';

describe('freshnessNines', () => {
  it('vouches log10(checked) when none is stale, -log10(ratio) otherwise', () => {
    expect(freshnessNines(1_000_000, 0)).toBe(6);
    expect(freshnessNines(2000, 0)).toBeCloseTo(3.301, 3);
    expect(freshnessNines(1000, 1)).toBeCloseTo(3, 10);
    expect(freshnessNines(10, 5)).toBeCloseTo(0.301, 3);
    expect(freshnessNines(0, 0)).toBe(0);
  });
});
