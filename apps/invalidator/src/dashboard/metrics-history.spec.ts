import { quantileMs } from './metrics-history';

describe(quantileMs.name, () => {
  const le = [0.01, 0.1, 1, Infinity];

  it('interpolates within the bucket the quantile falls in, over the window only', () => {
    const before = { le, cumulative: [100, 100, 100, 100] };
    // 10 new observations: 5 up to 10 ms, 5 between 10 and 100 ms.
    const after = { le, cumulative: [105, 110, 110, 110] };
    expect(quantileMs(before, after, 0.5)).toBe(10);
    expect(quantileMs(before, after, 0.99)).toBe(98.2);
  });

  it('has no answer without observations in the window', () => {
    const same = { le, cumulative: [3, 3, 3, 3] };
    expect(quantileMs(same, same, 0.5)).toBeNull();
    expect(quantileMs({ le: [], cumulative: [] }, { le: [], cumulative: [] }, 0.5)).toBeNull();
  });

  it('reports the last finite bound for observations beyond it', () => {
    const before = { le, cumulative: [0, 0, 0, 0] };
    const after = { le, cumulative: [0, 0, 0, 4] };
    expect(quantileMs(before, after, 0.99)).toBe(1000);
  });
});
