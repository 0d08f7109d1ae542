import { ServiceProcess } from '../support/service-process';
import { productUpdated } from '../support/events';
import { waitFor } from '../support/test-env';
import { World } from '../support/world';

async function main() {
  const N = Number(process.env.N ?? 100000);
  const world = await World.create('prof', 6);
  const events = Array.from({ length: N }, (_, i) =>
    productUpdated({ productId: `p${i % 5000}`, categoryIds: [(i % 40) + 1] }),
  );
  let t = performance.now();
  await world.publish(events);
  console.log('published', ((performance.now() - t) / 1000).toFixed(1));
  const service = await ServiceProcess.start(world.env, {
    LOG_LEVEL: 'info',
    ...(process.env.PROF ? { NODE_OPTIONS: '--cpu-prof --cpu-prof-dir=/tmp/prof' } : {}),
  });
  t = performance.now();
  await waitFor('applied', async () => (await world.inboxCount()) >= N, 600000, 50);
  const s = (performance.now() - t) / 1000;
  console.log(`drain ${N} in ${s.toFixed(2)} s = ${Math.round(N / s)}/s`);
  const joined = Number(service.logLines('consumer joined its group')[0].time);
  for (const l of service.logLines('invalidation saga completed'))
    console.log(Number(l.time) - joined, l.duration_ms, l.events);
  const text = await (await fetch(`${service.url}/metrics`)).text();
  console.log(
    text
      .split('\n')
      .filter((l) =>
        /stage_duration_seconds_sum|saga_duration_seconds_sum|lock_acquire_duration_seconds_sum/.test(
          l,
        ),
      )
      .join('\n'),
  );
  await service.stop();
  await world.close();
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
