import { CacheClient } from '@invalidator/client';
import { runCli } from './support/cli-process';
import { productUpdated } from './support/events';
import { ServiceProcess } from './support/service-process';
import { waitFor } from './support/test-env';
import { VersionAnnouncements } from './support/version-announcements';
import { World } from './support/world';

interface Sample {
  sampled: number;
  stale: number;
  ratio: number;
  nines: number;
}

/**
 * check-staleness and the service's gauge find fills that landed after a newer version (the
 * client with its check off writes them on purpose), and none from the client with its check.
 */
describe('check-staleness: entries filled under an older version that are still reachable', () => {
  let world: World;
  let service: ServiceProcess;
  let announcements: VersionAnnouncements;

  beforeAll(async () => {
    world = await World.create('check_staleness');
    service = await ServiceProcess.start(world.env, { STALENESS_SAMPLE_INTERVAL_MS: '300' });
    announcements = await VersionAnnouncements.listen(world.redis);
  });

  afterAll(async () => {
    await announcements?.close();
    await service?.stop();
    await world?.close();
  });

  /** Fills `id` while another product changes, so the fill's noted version is passed by. */
  async function fillAcrossAChange(client: CacheClient, id: string): Promise<void> {
    await client.remember(
      `page:${id}`,
      { tags: [`product:${id}`], ttl: 300, types: ['products'] },
      async () => {
        const before = await announcements.products();
        await world.publish([productUpdated({ productId: `other-${id}` })]);
        await announcements.waitProductsAbove(before);
        return { id, revision: 1 };
      },
    );
  }

  async function checkStaleness(): Promise<Sample> {
    const run = await runCli(world.env, ['check-staleness', '--samples', '300', '--json']);
    expect(run.code).toBe(0);
    return JSON.parse(run.stdout) as Sample;
  }

  it('reports the version-check-off fills as stale, as a ratio and in nines, and the gauge follows', async () => {
    const connections = [world.redis.duplicate(), world.redis.duplicate()];
    const checked = await CacheClient.connect({ redis: connections[0] });
    const unchecked = await CacheClient.connect({ redis: connections[1], versionCheck: false });
    try {
      for (let i = 0; i < 6; i++) {
        await checked.remember(
          `page:fresh-${i}`,
          { tags: [`product:fresh-${i}`], ttl: 300, types: ['products'] },
          async () => ({ revision: 1 }),
        );
      }
      for (let i = 0; i < 3; i++) await fillAcrossAChange(checked, `checked-${i}`);
      expect(checked.stats().staleFillsRejected).toBe(3);

      const clean = await checkStaleness();
      expect(clean).toMatchObject({ stale: 0, ratio: 0 });
      expect(clean.sampled).toBeGreaterThan(0);
      expect(clean.nines).toBeCloseTo(Math.log10(clean.sampled));

      for (let i = 0; i < 3; i++) await fillAcrossAChange(unchecked, `unchecked-${i}`);
      const dirty = await checkStaleness();
      console.log(`check-staleness: ${JSON.stringify(clean)} then ${JSON.stringify(dirty)}`);
      // 3 stale of 9 entries, sampled at random with replacement.
      expect(dirty.stale).toBeGreaterThan(0);
      expect(dirty.ratio).toBeGreaterThan(0.15);
      expect(dirty.ratio).toBeLessThan(0.55);
      expect(dirty.nines).toBeCloseTo(-Math.log10(dirty.ratio));

      await waitFor(
        'the service gauge to show the stale entries',
        async () => (await service.metric('invalidator_cache_stale_ratio')) > 0.15,
        15000,
      );
      expect(await service.metric('invalidator_cache_staleness_sampled_entries')).toBe(100);
      expect(await service.metric('invalidator_cache_freshness_nines')).toBeGreaterThan(0);
    } finally {
      await checked.close();
      await unchecked.close();
      for (const redis of connections) await redis.quit();
    }
  });

  it('--samples must be a positive integer (exit 2)', async () => {
    const run = await runCli(world.env, ['check-staleness', '--samples', 'many']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--samples');
  });
});
