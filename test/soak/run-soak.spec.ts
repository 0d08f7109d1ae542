import { hasLocalTier, runSoak, soakOptionsFromEnv } from './run-soak';

describe('the soak options', () => {
  it('puts the in-process tier in no reader, every one, or the odd ones (SOAK_LOCAL)', () => {
    const readers = (env: Record<string, string>) => {
      const { local } = soakOptionsFromEnv(env);
      return [1, 2, 3, 4].filter((r) => hasLocalTier(local, r));
    };
    expect(readers({})).toEqual([]);
    expect(readers({ SOAK_LOCAL: '0' })).toEqual([]);
    expect(readers({ SOAK_LOCAL: '1' })).toEqual([1, 2, 3, 4]);
    expect(readers({ SOAK_LOCAL: 'half' })).toEqual([1, 3]);
    expect(() => soakOptionsFromEnv({ SOAK_LOCAL: 'yes' })).toThrow(/SOAK_LOCAL must be/);
  });

  it('refuses the in-process tier on a Redis Cluster before starting anything, naming both settings', async () => {
    const options = soakOptionsFromEnv({ SOAK_LOCAL: '1', SOAK_REDIS: 'cluster' });
    await expect(runSoak({ ...options, log: () => undefined })).rejects.toThrow(
      "SOAK_LOCAL=1 with SOAK_REDIS=cluster: libs/client's in-process tier needs a single Redis",
    );
  });
});
