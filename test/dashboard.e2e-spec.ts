import { TestBrowser } from './support/browser';
import { productUpdated } from './support/events';
import { ServiceProcess } from './support/service-process';
import { TcpProxy } from './support/tcp-proxy';
import { waitFor } from './support/test-env';
import { World } from './support/world';

const TOKEN = 'dashboard-e2e-token-0123456789';

// What the functions run inside the page use of the DOM (this project compiles without lib.dom).
interface PageElement {
  textContent: string | null;
}
declare const document: {
  getElementById(id: string): PageElement | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): { length: number };
};
declare const window: { marker?: number };

describe('the live dashboard in a real browser', () => {
  let world: World;
  let redisProxy: TcpProxy;
  let service: ServiceProcess;
  let browser: TestBrowser;

  beforeAll(async () => {
    world = await World.create('dashboard');
    const redisUrl = new URL(world.env.redisUrl);
    redisProxy = await TcpProxy.start(redisUrl.hostname, Number(redisUrl.port));
    service = await ServiceProcess.start(world.env, {
      REDIS_URL: `redis://127.0.0.1:${redisProxy.port}/0`,
      ADMIN_TOKEN: TOKEN,
      BREAKER_WINDOW_MS: '10000',
      BREAKER_MIN_VOLUME: '3',
      BREAKER_COOLDOWN_MS: '2000',
      LOCK_RETRY_DELAY_MS: '50',
      RETRY_MAX_DELAY_MS: '500',
    });
    browser = await TestBrowser.launch();
  });

  afterAll(async () => {
    await browser?.close();
    await service?.stop();
    await redisProxy?.close();
    await world?.close();
  });

  const text = async (selector: string) => (await browser.page.textContent(selector)) ?? '';
  const shownVersion = async (type: string) =>
    Number(await text(`#versions tr[data-type="${type}"] td.version`));
  const shownApplied = async () => Number(await text('#events-applied'));

  it('asks for the token, then shows the versions, with nothing secret in the page or its URL', async () => {
    const page = browser.page;
    const response = await page.goto(`${service.url}/dashboard`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.waitForSelector('#login:not([hidden])');
    expect(await page.getAttribute('#status', 'data-state')).toBe('login');
    await page.fill('#token', TOKEN);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#versions tr[data-type="products"]');
    expect(await page.getAttribute('#status', 'data-state')).toBe('live');
    expect(await shownVersion('products')).toBe((await world.versions()).products);
    expect(page.url()).not.toContain(TOKEN);
    expect(await page.content()).not.toContain(TOKEN);
    expect(await text('#global-version')).toMatch(/^\d+\.[0-9a-f]{16}$/);
  });

  it('events published: the event counter and the version move within 2 s, without a reload', async () => {
    const page = browser.page;
    await page.evaluate(() => (window.marker = 42));
    const appliedBefore = await shownApplied();
    const versionBefore = await shownVersion('products');
    const events = Array.from({ length: 5 }, (_, i) => productUpdated({ productId: `d${i}` }));
    await world.publish(events);
    // From the broker's acknowledgement of the events (the producer's connection excluded).
    const published = Date.now();
    let appliedAt = 0;
    const ids = events.map((e) => e.eventId);
    void waitFor(
      'the events in the inbox',
      async () => (await world.inboxCount(ids)) === ids.length && (appliedAt = Date.now()) > 0,
      10000,
      20,
    ).catch(() => undefined);
    await page.waitForFunction(
      ([applied, version]) =>
        Number(document.getElementById('events-applied')?.textContent) >= applied + 5 &&
        Number(
          document.querySelector('#versions tr[data-type="products"] td.version')?.textContent,
        ) > version,
      [appliedBefore, versionBefore],
      { timeout: 10000, polling: 50 },
    );
    const latencyMs = Date.now() - published;
    process.stdout.write(
      `dashboard: publish -> applied ${appliedAt ? appliedAt - published : '?'} ms -> page ${latencyMs} ms\n`,
    );
    expect(latencyMs).toBeLessThan(2000);
    expect(await shownVersion('products')).toBe((await world.versions()).products);
    expect(await page.evaluate(() => window.marker)).toBe(42);
  });

  it('under a steady load the charts fill and a screenshot is written', async () => {
    for (let second = 0; second < 8; second++) {
      await world.publish(
        Array.from({ length: 20 }, (_, i) => productUpdated({ productId: `l${second}-${i}` })),
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await browser.page.waitForFunction(
      () => Number(document.getElementById('events-applied')?.textContent) >= 165,
      undefined,
      { timeout: 30000 },
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await browser.page.locator('canvas').count()).toBeGreaterThanOrEqual(4);
    await browser.screenshot('dashboard-load.png');
  });

  it('a lock held now is listed with its age; a released one disappears', async () => {
    // A type the service knows (a version row) and no event of this spec bumps.
    const key = 'lock:shop.version.categories';
    // LOCK_TTL_MS is 5000 by default: 4000 ms left is an age of about 1000 ms.
    await world.redis.set(key, 'probe-value', 'PX', 4000);
    await browser.page.waitForFunction(
      () => (document.getElementById('locks')?.textContent ?? '').includes('categories'),
      undefined,
      { timeout: 5000 },
    );
    const row = await text('#locks tbody');
    expect(row).toMatch(/categories\d+(\.\d)? s\d+(\.\d)? s|categories\d+ ms/);
    await world.redis.del(key);
    await browser.page.waitForFunction(
      () => !(document.getElementById('locks')?.textContent ?? '').includes('categories'),
      undefined,
      { timeout: 5000 },
    );
  });

  it('Redis cut off: the page shows the breaker open, then closed again', async () => {
    const page = browser.page;
    const changedBefore = await text('#breaker-changed');
    redisProxy.cut();
    await world.publish(
      Array.from({ length: 50 }, (_, i) => productUpdated({ productId: `o${i}` })),
    );
    await page.waitForSelector('#breaker-state[data-state="open"]', { timeout: 60000 });
    expect(await text('#breaker-changed')).not.toBe(changedBefore);
    await browser.screenshot('dashboard-breaker-open.png');
    redisProxy.restore();
    await page.waitForSelector('#breaker-state[data-state="closed"]', { timeout: 60000 });
    await page.waitForFunction(
      () => document.querySelectorAll('#incidents tbody tr').length >= 2,
      undefined,
      { timeout: 20000 },
    );
    expect(await text('#incidents')).toContain('breaker_open');
  });

  it('the service restarted: the page reconnects by itself and shows data again', async () => {
    const page = browser.page;
    const instanceBefore = await text('#instance');
    await service.stop();
    await page.waitForSelector('#status[data-state="reconnecting"]', { timeout: 10000 });
    await service.spawn();
    await page.waitForSelector('#status[data-state="live"]', { timeout: 30000 });
    await waitFor(
      'the new instance shown',
      async () => (await text('#instance')) !== instanceBefore,
    );
    await page.waitForSelector('#versions tr[data-type="products"]');
    expect(await shownVersion('products')).toBe((await world.versions()).products);
    expect(await page.evaluate(() => window.marker)).toBe(42);

    const event = productUpdated({ productId: 'after-restart' });
    const before = await shownVersion('products');
    await world.publish([event]);
    await page.waitForFunction(
      (version) =>
        Number(
          document.querySelector('#versions tr[data-type="products"] td.version')?.textContent,
        ) > version,
      before,
      { timeout: 10000 },
    );
    await browser.screenshot('dashboard.png');
    // No Content-Security-Policy violation and no script error, all along.
    expect(browser.problems.filter((p) => /Content Security Policy|page error/i.test(p))).toEqual(
      [],
    );
  });
});
