import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/**
 * docker/compose.yml and its cdc profile, read as Compose reads them (there is no Docker engine
 * here to run them): the CDC services must build, configure and register what scripts/cdc.sh
 * does for the local stack, pointed at compose's hosts. And the chart README's connector for an
 * existing Connect cluster: the same settings.
 */
const root = join(__dirname, '..');
const docker = join(root, 'docker');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  profiles?: string[];
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
const composeFile = (name: string) =>
  parse(readFileSync(join(docker, name), 'utf8')) as { services: Record<string, Service> };
const compose = composeFile('compose.yml').services;
const cdcOverride = composeFile('compose.cdc.yml').services;

/** scripts/cdc.sh, sourced with these settings (and none of the caller's CDC_*). */
function cdcScript(command: string, settings: Record<string, string> = {}): string {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('CDC_')),
  );
  return execFileSync('bash', ['-c', `. scripts/cdc.sh && ${command}`], {
    cwd: root,
    encoding: 'utf8',
    env: { ...env, STACK_DIR: mkdtempSync(join(tmpdir(), 'cdc-stack-')), ...settings },
  });
}
const connectorConfig = (settings: Record<string, string> = {}) =>
  JSON.parse(cdcScript('cdc_connector_config', settings)) as Record<string, string>;
/** The worker's properties as scripts/cdc.sh writes them. */
const workerProperties = (settings: Record<string, string>) =>
  Object.fromEntries(
    cdcScript(
      'mkdir -p "$cdc_connect_dir" && cdc_connect_config && cat "$cdc_connect_dir/connect-distributed.properties"',
      settings,
    )
      .split('\n')
      .filter((line) => line && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
const containerPort = (service: Service) => Number(service.ports?.[0].split(':').pop());

const CDC_SERVICES = ['catalog', 'cdc-register', 'connect'];

describe('docker/compose.yml', () => {
  it('starts by default the plain stack only, the service without a CDC mapping', () => {
    const byDefault = Object.keys(compose).filter((name) => !compose[name].profiles);
    expect(byDefault.sort()).toEqual([
      'grafana',
      'invalidator',
      'kafka',
      'mysql',
      'prometheus',
      'redis',
    ]);
    expect(compose.invalidator.environment).not.toHaveProperty('CDC_MAPPING_FILE');
    const profiled = Object.keys(compose).filter((name) => compose[name].profiles);
    expect(profiled.sort()).toEqual(CDC_SERVICES);
    for (const name of profiled) expect(compose[name].profiles).toEqual(['cdc']);
  });

  describe('the cdc profile', () => {
    const env = compose.connect.environment ?? {};
    let local: Record<string, string>;
    let registered: Record<string, string>;
    beforeAll(() => {
      local = connectorConfig();
      registered = connectorConfig(compose['cdc-register'].environment);
    });

    it('registers the local stack connector config, pointed at the catalog and the broker of compose', () => {
      const catalog = compose.catalog;
      expect(registered['database.hostname']).toBe('catalog');
      expect(Number(registered['database.port'])).toBe(containerPort(catalog));
      expect(registered['schema.history.internal.kafka.bootstrap.servers']).toBe(
        compose.invalidator.environment?.KAFKA_BROKERS,
      );
      expect(compose.kafka.environment?.KAFKA_ADVERTISED_LISTENERS).toContain(
        `//${registered['schema.history.internal.kafka.bootstrap.servers']}`,
      );
      // TLS to MySQL 8.4 (caching_sha2_password); the local MariaDB has none.
      expect(registered['database.ssl.mode']).toBe('required');
      expect(local['database.ssl.mode']).toBe('disabled');
      // Every other setting is the local stack's, from the one file.
      const differing = Object.keys(local).filter((key) => local[key] !== registered[key]);
      expect(differing.sort()).toEqual([
        'database.hostname',
        'database.port',
        'database.ssl.mode',
        'schema.history.internal.kafka.bootstrap.servers',
      ]);
      expect(registered).toMatchObject({
        'connector.class': 'io.debezium.connector.mysql.MySqlConnector',
        'decimal.handling.mode': 'string',
        'poll.interval.ms': '10',
        'tombstones.on.delete': 'false',
        'heartbeat.interval.ms': '1000',
      });
      expect(compose['cdc-register'].command).toEqual(['bash', 'scripts/cdc.sh', 'register']);
      expect(compose['cdc-register'].depends_on).toEqual({
        connect: { condition: 'service_healthy' },
      });
    });

    it('runs a MySQL 8.4 catalog with a ROW, full-image binlog and the connector user', () => {
      const catalog = compose.catalog;
      expect(catalog.image).toBe('mysql:8.4');
      expect(catalog.environment?.MYSQL_DATABASE).toBe(registered['database.include.list']);
      expect(catalog.command).toEqual(
        expect.arrayContaining(['--binlog-format=ROW', '--binlog-row-image=FULL']),
      );
      const serverId = catalog.command?.find((arg) => arg.startsWith('--server-id='));
      expect(Number(serverId?.split('=')[1])).toBeGreaterThan(0);
      // Debezium joins as a replica: its id must differ from the server's.
      expect(serverId).not.toBe(`--server-id=${registered['database.server.id']}`);
      const init = catalog.volumes?.find((v) => v.includes(':/docker-entrypoint-initdb.d/'));
      const sql = readFileSync(join(docker, init?.split(':')[0] ?? ''), 'utf8');
      const user = `'${registered['database.user']}'@'%'`;
      expect(sql).toContain(`CREATE USER IF NOT EXISTS ${user}`);
      expect(sql).toContain(`IDENTIFIED BY '${registered['database.password']}'`);
      const grant = /GRANT ([^;]+) ON \*\.\* TO ([^;]+);/.exec(sql.replace(/\s+/g, ' '));
      expect(grant?.[2]).toBe(user);
      expect(
        grant?.[1]
          .split(',')
          .map((p) => p.trim())
          .sort(),
      ).toEqual([
        'LOCK TABLES',
        'RELOAD',
        'REPLICATION CLIENT',
        'REPLICATION SLAVE',
        'SELECT',
        'SHOW DATABASES',
      ]);
    });

    it("builds Connect from scripts/cdc's pom (Debezium 3.6.1 on connect-runtime 4.3.0) and runs the script's worker", () => {
      const build = { context: '..', dockerfile: 'docker/connect.Dockerfile' };
      expect(compose.connect.build).toEqual(build);
      expect(compose['cdc-register'].build).toEqual(build);
      const dockerfile = readFileSync(join(docker, 'connect.Dockerfile'), 'utf8');
      expect(dockerfile).toContain('COPY scripts/cdc/pom.xml scripts/cdc/pom.xml');
      expect(dockerfile).toContain("RUN bash -c '. scripts/cdc.sh && cdc_jars'");
      // What scripts/cdc.sh sources is in both stages too.
      const script = readFileSync(join(root, 'scripts', 'cdc.sh'), 'utf8');
      const sourced = [...script.matchAll(/^\. "\$CDC_ROOT\/(scripts\/[\w.-]+)"/gm)].map(
        (m) => m[1],
      );
      expect(sourced).toContain('scripts/processes.sh');
      for (const file of sourced)
        expect(
          dockerfile.split('\n').filter((l) => /^COPY (?!--from)/.test(l) && l.includes(file)),
        ).toHaveLength(2);
      expect(dockerfile).toContain('exec \\"$CDC_JAVA\\" \\"${cdc_connect_args[@]}\\"');
      const pom = readFileSync(join(root, 'scripts', 'cdc', 'pom.xml'), 'utf8');
      expect(pom).toContain('<kafka.version>4.3.0</kafka.version>');
      expect(pom).toContain('<debezium.version>3.6.1.Final</debezium.version>');

      const worker = workerProperties(env);
      expect(worker['bootstrap.servers']).toBe(compose.invalidator.environment?.KAFKA_BROKERS);
      expect(worker['listeners']).toBe(`http://0.0.0.0:${containerPort(compose.connect)}`);
      expect(worker['rest.advertised.host.name']).toBe('connect');
      expect(env.CDC_REST).toBe(`http://connect:${containerPort(compose.connect)}`);
      expect(worker['value.converter.schemas.enable']).toBe('false');
      expect(compose.connect.healthcheck?.test.join(' ')).toContain(
        `http://127.0.0.1:${containerPort(compose.connect)}/health`,
      );
      // The local stack's worker is unchanged: loopback only.
      expect(workerProperties({})['listeners']).toBe('http://127.0.0.1:8083');
    });

    it('gives the service the mapping only with compose.cdc.yml, once the connector runs', () => {
      const service = cdcOverride.invalidator;
      const mapping = service.environment?.CDC_MAPPING_FILE;
      expect(service.volumes).toEqual([`../apps/example-shop/cdc-mapping.json:${mapping}:ro`]);
      expect(service.depends_on).toEqual({
        'cdc-register': { condition: 'service_completed_successfully' },
      });
      expect(Object.keys(cdcOverride)).toEqual(['invalidator']);
    });
  });
});

describe("helm/invalidator/README.md's KafkaConnector", () => {
  it('has the settings of scripts/cdc/connector.json and of the local worker converters', () => {
    const readme = readFileSync(join(root, 'helm', 'invalidator', 'README.md'), 'utf8');
    const manifests = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].flatMap(([, yaml]) =>
      parseAllDocuments(yaml).map((doc) => doc.toJS() as Record<string, unknown>),
    );
    const connector = manifests.find((m) => m.kind === 'KafkaConnector') as {
      apiVersion: string;
      spec: { class: string; tasksMax: number; config: Record<string, unknown> };
    };
    expect(connector.apiVersion).toBe('kafka.strimzi.io/v1beta2');
    const template = JSON.parse(
      readFileSync(join(root, 'scripts', 'cdc', 'connector.json'), 'utf8'),
    ) as Record<string, string>;
    const { 'connector.class': connectorClass, 'tasks.max': tasks, ...settings } = template;
    expect(connector.spec.class).toBe(connectorClass);
    expect(String(connector.spec.tasksMax)).toBe(tasks);
    const worker = workerProperties({});
    const converters = Object.fromEntries(
      Object.entries(worker).filter(([key]) => /^(key|value)\.converter/.test(key)),
    );
    const config = Object.fromEntries(
      Object.entries(connector.spec.config).map(([key, value]) => [key, String(value)]),
    );
    expect(Object.keys(config).sort()).toEqual(
      [...Object.keys(settings), ...Object.keys(converters)].sort(),
    );
    // The same values, but for the hosts (placeholders there) and a cluster's replication.
    const fixed = Object.entries(settings).filter(
      ([key, value]) =>
        !value.includes('${') && key !== 'topic.creation.default.replication.factor',
    );
    expect(fixed.length).toBeGreaterThan(5);
    for (const [key, value] of [...fixed, ...Object.entries(converters)])
      expect([key, config[key]]).toEqual([key, value]);
  });
});
