import { ServiceProcess } from './support/service-process';
import { World } from './support/world';

const TOKEN = 'test-admin-token-0123456789';

describe('POST /admin/versions/bump', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('admin', 1);
    service = await ServiceProcess.start(world.env, { ADMIN_TOKEN: TOKEN });
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  const bump = (body: unknown, token?: string) =>
    fetch(`${service.url}/admin/versions/bump`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify(body),
    });

  it('401 without a token or with a wrong one, and bumps nothing', async () => {
    const before = await world.versions();
    expect((await bump({ types: ['products'] })).status).toBe(401);
    expect((await bump({ types: ['products'] }, 'wrong')).status).toBe(401);
    expect((await bump({ types: ['products'] }, `${TOKEN}x`)).status).toBe(401);
    expect(await world.versions()).toEqual(before);
  });

  it('400 on a bad body, naming the problem', async () => {
    for (const body of [
      {},
      { types: [] },
      { types: ['Bad Type'] },
      { types: 'products' },
      { types: ['products'], extra: 1 },
    ]) {
      const res = await bump(body, TOKEN);
      expect(res.status).toBe(400);
      expect(JSON.stringify(await res.json())).toMatch(/types|body|extra|Unrecognized/);
    }
  });

  it('200 bumps through the saga, audited with actor admin, and purges the type tag', async () => {
    await world.tag('products', ['page:list']);
    const before = await world.versions();
    const res = await bump({ types: ['products'] }, TOKEN);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { versions: { dataType: string; version: number }[] };
    expect(body.versions).toEqual([
      expect.objectContaining({ dataType: 'global', version: before.global + 1 }),
      expect.objectContaining({ dataType: 'products', version: before.products + 1 }),
    ]);
    const audit = await world.audit();
    expect(audit.map((a) => [a.data_type, a.actor])).toEqual([
      ['global', 'admin'],
      ['products', 'admin'],
    ]);
    expect(await world.exists('page:list')).toBe(false);
    expect(JSON.parse((await world.redis.get('shop.version.products')) ?? '{}').version).toBe(
      before.products + 1,
    );
  });
});

describe('POST /admin/versions/bump with no ADMIN_TOKEN configured', () => {
  let world: World;
  let service: ServiceProcess;

  beforeAll(async () => {
    world = await World.create('noadmin', 1);
    service = await ServiceProcess.start(world.env);
  });

  afterAll(async () => {
    await service?.stop();
    await world?.close();
  });

  it('is off: 404 whatever is presented, never open', async () => {
    for (const authorization of [undefined, 'Bearer ', `Bearer ${TOKEN}`]) {
      const res = await fetch(`${service.url}/admin/versions/bump`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(authorization ? { authorization } : {}),
        },
        body: JSON.stringify({ types: ['products'] }),
      });
      expect(res.status).toBe(404);
    }
    expect(await world.audit()).toEqual([]);
  });
});
