import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import mysql, { Connection } from 'mysql2/promise';
import { runCli } from './support/cli-process';
import { productUpdated } from './support/events';
import { ServiceProcess } from './support/service-process';
import { MYSQL_ROOT_URL, mysqlTestOptions } from './support/test-env';
import { World } from './support/world';

// Collected only on the secured stack (the secure leg of test/legs.ts).
describe('MySQL users: migrations as the DDL user, the service as a DML-only user', () => {
  let world: World;
  let root: Connection;
  let secrets: string;
  let service: ServiceProcess | undefined;
  const suffix = randomBytes(3).toString('hex');
  const ddlUser = `mig_${suffix}`;
  const dmlUser = `rt_${suffix}`;
  const ddlPassword = randomBytes(18).toString('hex');
  const dmlPassword = randomBytes(18).toString('hex');
  let dmlUrl: string;

  beforeAll(async () => {
    world = await World.create('leastpriv', 1);
    root = await mysql.createConnection(mysqlTestOptions(MYSQL_ROOT_URL));
    const db = world.env.database;
    await root.query(`CREATE USER '${ddlUser}'@'%' IDENTIFIED BY '${ddlPassword}' REQUIRE SSL`);
    await root.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, DROP, INDEX, REFERENCES ON \`${db}\`.* TO '${ddlUser}'@'%'`,
    );
    await root.query(`CREATE USER '${dmlUser}'@'%' IDENTIFIED BY '${dmlPassword}' REQUIRE SSL`);
    await root.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${db}\`.* TO '${dmlUser}'@'%'`);
    secrets = mkdtempSync(join(tmpdir(), 'leastpriv-'));
    writeFileSync(join(secrets, 'ddl'), `${ddlPassword}\n`);
    writeFileSync(join(secrets, 'dml'), dmlPassword);
    const url = new URL(world.env.mysqlUrl);
    url.username = dmlUser;
    url.password = '';
    dmlUrl = url.toString();
  });

  afterAll(async () => {
    await service?.stop();
    await root?.query(`DROP USER IF EXISTS '${ddlUser}'@'%', '${dmlUser}'@'%'`);
    await root?.end();
    await world?.close();
    if (secrets) rmSync(secrets, { recursive: true, force: true });
  });

  const asUsers = {
    MYSQL_URL: '',
    MYSQL_PASSWORD_FILE: '',
    MYSQL_MIGRATIONS_USER: ddlUser,
    MYSQL_MIGRATIONS_PASSWORD_FILE: '',
    MYSQL_MIGRATIONS_RUN: 'false',
  };
  const settings = () => ({
    ...asUsers,
    MYSQL_URL: dmlUrl,
    MYSQL_PASSWORD_FILE: join(secrets, 'dml'),
    MYSQL_MIGRATIONS_PASSWORD_FILE: join(secrets, 'ddl'),
  });

  it('`migrate` creates the tables as the migrations user; a second run finds nothing pending', async () => {
    const first = await runCli(world.env, ['migrate'], settings());
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^applied: InitialSchema\d+/);
    const tables = await world.query<{ t: string }>(
      'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()',
    );
    expect(tables.map((r) => r.t)).toEqual(
      expect.arrayContaining(['shop_data_versions', 'processed_events', 'version_audit']),
    );
    const second = await runCli(world.env, ['migrate'], settings());
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('no pending migration\n');
  });

  it('the service runs as the DML-only user and applies events', async () => {
    service = await ServiceProcess.start(world.env, settings());
    const event = productUpdated({ productId: '501' });
    await world.publish([event]);
    await world.waitApplied([event.eventId], 1);
    expect((await world.versions()).products).toBeGreaterThanOrEqual(1);
  });

  it('the runtime user cannot ALTER, DROP or CREATE tables, nor read another schema', async () => {
    const runtime = await mysql.createConnection({
      ...mysqlTestOptions(dmlUrl),
      password: dmlPassword,
    });
    try {
      await expect(
        runtime.query('ALTER TABLE shop_data_versions ADD COLUMN evil INT'),
      ).rejects.toMatchObject({ code: 'ER_TABLEACCESS_DENIED_ERROR' });
      await expect(runtime.query('DROP TABLE processed_events')).rejects.toMatchObject({
        code: 'ER_TABLEACCESS_DENIED_ERROR',
      });
      await expect(runtime.query('CREATE TABLE evil (id INT)')).rejects.toMatchObject({
        code: 'ER_TABLEACCESS_DENIED_ERROR',
      });
      await expect(runtime.query('SELECT * FROM mysql.user')).rejects.toMatchObject({
        code: 'ER_TABLEACCESS_DENIED_ERROR',
      });
      // What it needs it has: it reads and writes its own tables.
      const [rows] = await runtime.query('SELECT COUNT(*) AS n FROM shop_data_versions');
      expect(rows).toHaveLength(1);
    } finally {
      await runtime.end();
    }
  });
});
