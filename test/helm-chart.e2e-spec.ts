import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { parseCdcMapping } from '@invalidator/contracts';

/** The chart rendered and linted by real Helm (helm-java on Java 17; scripts/helm.sh). */
const root = join(__dirname, '..');
const chart = join(root, 'helm', 'invalidator');
const allOn = join(chart, 'ci', 'all-on-values.yaml');

interface Manifest {
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
  data?: Record<string, string>;
}

function helm(...args: string[]) {
  return spawnSync('bash', [join(root, 'scripts', 'helm.sh'), ...args], { encoding: 'utf8' });
}

/**
 * helm-java's `template` leaves hooks out (Helm's CLI prints them). To render and check the
 * migrations Job like the rest, a copy of the chart renames its hook annotations, so Helm
 * sees a plain manifest; the renamed annotations carry the hook's values unchanged.
 */
const HOOK_ALIAS = 'rendered-for-test.invalidator/';
function chartWithHooksShown(): string {
  const copy = mkdtempSync(join(tmpdir(), 'chart-hooks-'));
  cpSync(chart, copy, { recursive: true });
  const job = join(copy, 'templates', 'migrations-job.yaml');
  writeFileSync(job, readFileSync(job, 'utf8').replaceAll('helm.sh/hook', `${HOOK_ALIAS}hook`));
  return copy;
}

function render(...valuesFiles: string[]): Manifest[] {
  const out = execFileSync(
    'bash',
    [join(root, 'scripts', 'helm.sh'), 'template', chartWithHooksShown(), ...valuesFiles],
    {
      encoding: 'utf8',
    },
  );
  return parseAllDocuments(out)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

/** A values file of its own, written for one render. */
function valuesFile(values: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'chart-values-')), 'values.yaml');
  writeFileSync(file, typeof values === 'string' ? values : stringify(values));
  return file;
}

const kinds = (manifests: Manifest[]) => manifests.map((m) => m.kind).sort();
const one = (manifests: Manifest[], kind: string): Manifest => {
  const found = manifests.filter((m) => m.kind === kind);
  expect(found).toHaveLength(1);
  return found[0];
};

interface Container {
  ports: { name: string; containerPort: number }[];
  livenessProbe: { httpGet: { path: string; port: number | string } };
  readinessProbe: { httpGet: { path: string; port: number | string } };
  securityContext: Record<string, unknown>;
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  envFrom: Record<string, { name: string }>[];
  env?: { name: string; value: string }[];
  command?: string[];
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  securityContext: Record<string, unknown>;
  containers: Container[];
  volumes: {
    name: string;
    secret?: { secretName: string };
    configMap?: { name: string };
    emptyDir?: unknown;
  }[];
}
interface HookManifest extends Manifest {
  metadata: { name: string; annotations: Record<string, string> };
}
const envOf = (container: Container) =>
  Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
const SECRET_SETTINGS = [
  'ADMIN_TOKEN',
  'MYSQL_PASSWORD',
  'REDIS_PASSWORD',
  'KAFKA_SASL_PASSWORD',
  'MYSQL_MIGRATIONS_PASSWORD',
];
const podSpec = (deployment: Manifest) =>
  deployment.spec.template as {
    spec: PodSpec;
    metadata: { labels: Record<string, string>; annotations: Record<string, string> };
  };
/** A mapping of the shape the service reads (README "Change data capture"). */
const CDC_MAPPING = {
  topics: ['catalog.example_shop.products', 'catalog.example_shop.product_categories'],
  tables: {
    'example_shop.products': { event: 'ProductUpdated', id: 'id', categories: ['category_id'] },
    'example_shop.product_categories': {
      event: 'ProductUpdated',
      id: 'product_id',
      categories: ['category_id'],
    },
  },
};

describe('Helm chart', () => {
  it('passes helm lint --strict', () => {
    const lint = helm('lint', chart);
    expect(lint.stdout).toContain('lint: passed');
    expect(lint.status).toBe(0);
  });

  it('fails helm lint on a broken template, so the lint check can fail', () => {
    const broken = mkdtempSync(join(tmpdir(), 'chart-'));
    cpSync(chart, broken, { recursive: true });
    writeFileSync(join(broken, 'templates', 'broken.yaml'), 'kind: {{ .Values.nope.deeper }\n');
    const lint = helm('lint', broken);
    expect(lint.status).not.toBe(0);
    expect(lint.stdout).toContain('lint: failed');
  });

  describe('rendered with the default values', () => {
    let manifests: Manifest[];
    beforeAll(() => {
      manifests = render();
    });

    it('probes liveness on /health/live and readiness on /health/ready', () => {
      const [container] = podSpec(one(manifests, 'Deployment')).spec.containers;
      expect(container.livenessProbe.httpGet.path).toBe('/health/live');
      expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    });

    it('runs as non-root on a read-only root file system with every capability dropped', () => {
      const pod = podSpec(one(manifests, 'Deployment')).spec;
      const [container] = pod.containers;
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
      expect(container.securityContext).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
    });

    it('sets resource requests and a memory limit', () => {
      const [container] = podSpec(one(manifests, 'Deployment')).spec.containers;
      expect(container.resources.requests).toEqual(
        expect.objectContaining({ cpu: expect.any(String), memory: expect.any(String) }),
      );
      expect(container.resources.limits?.memory).toEqual(expect.any(String));
    });

    it('has a PodDisruptionBudget selecting the Deployment pods', () => {
      const deployment = one(manifests, 'Deployment');
      const pdb = one(manifests, 'PodDisruptionBudget');
      const selector = (pdb.spec.selector as { matchLabels: Record<string, string> }).matchLabels;
      expect(podSpec(deployment).metadata.labels).toMatchObject(selector);
      expect(pdb.spec.minAvailable).toBe(1);
    });

    it('leaves the optional ServiceMonitor and NetworkPolicy out', () => {
      expect(kinds(manifests)).toEqual([
        'ConfigMap',
        'Deployment',
        'Job',
        'PodDisruptionBudget',
        'Service',
      ]);
    });

    it('migrates in a pre-install/pre-upgrade Job; the pods do not migrate', () => {
      const job = one(manifests, 'Job') as HookManifest;
      expect(job.metadata.annotations).toMatchObject({
        [`${HOOK_ALIAS}hook`]: 'pre-install,pre-upgrade',
        [`${HOOK_ALIAS}hook-delete-policy`]: 'before-hook-creation,hook-succeeded',
      });
      // The real chart declares it as a Helm hook (which the unmodified render leaves out).
      expect(readFileSync(join(chart, 'templates', 'migrations-job.yaml'), 'utf8')).toContain(
        'helm.sh/hook: pre-install,pre-upgrade',
      );
      const [migrations] = podSpec(job).spec.containers;
      expect(migrations.command).toEqual(['node', 'dist/apps/cli/apps/cli/src/main.js', 'migrate']);
      expect(envOf(migrations)).toMatchObject({ MYSQL_MIGRATIONS_USER: 'invalidator_migrations' });
      expect(migrations.securityContext).toMatchObject({ readOnlyRootFilesystem: true });
      const [service] = podSpec(one(manifests, 'Deployment')).spec.containers;
      expect(envOf(service)).toMatchObject({ MYSQL_MIGRATIONS_RUN: 'false' });
    });

    it("runs as the Dockerfile's user, with /tmp its only writable directory", () => {
      const dockerfile = readFileSync(join(root, 'docker', 'Dockerfile'), 'utf8');
      const users = [...dockerfile.matchAll(/^USER (\d+):(\d+)$/gm)];
      expect(users).toHaveLength(1);
      const pod = podSpec(one(manifests, 'Deployment')).spec;
      expect(pod.securityContext).toMatchObject({
        runAsUser: Number(users[0][1]),
        runAsGroup: Number(users[0][2]),
      });
      expect(pod.containers[0].volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
      expect(pod.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }]);
    });

    it('leaves change data capture off: no CDC ConfigMap, no CDC_MAPPING_FILE', () => {
      const deployment = one(manifests, 'Deployment');
      const configMap = one(manifests, 'ConfigMap');
      expect(configMap.metadata.name).toBe('shop-invalidator');
      expect(Object.keys(configMap.data ?? {}).filter((k) => k.startsWith('CDC_'))).toEqual([]);
      const env = envOf(podSpec(deployment).spec.containers[0]);
      expect(Object.keys(env).filter((k) => k.startsWith('CDC_'))).toEqual([]);
      expect(Object.keys(podSpec(deployment).metadata.annotations)).toEqual(['checksum/config']);
    });
  });

  describe('rendered with cdc.mapping set', () => {
    const withMapping = (mapping: unknown, cdc: Record<string, unknown> = {}) =>
      render(valuesFile({ cdc: { mapping, ...cdc } }));
    let manifests: Manifest[];
    beforeAll(() => {
      manifests = withMapping(CDC_MAPPING);
    });
    const cdcConfigMap = (rendered: Manifest[]) =>
      one(
        rendered.filter((m) => m.metadata.name === 'shop-invalidator-cdc'),
        'ConfigMap',
      );
    const checksum = (rendered: Manifest[]) =>
      podSpec(one(rendered, 'Deployment')).metadata.annotations['checksum/cdc-mapping'];

    it('holds the mapping in a ConfigMap of its own, as JSON the service accepts', () => {
      const json = cdcConfigMap(manifests).data?.['cdc-mapping.json'] ?? '';
      expect(JSON.parse(json)).toEqual(CDC_MAPPING);
      expect(() => parseCdcMapping(JSON.parse(json))).not.toThrow();
      // The same mapping given as the JSON itself (a string, e.g. --set-file) is kept as it is.
      const asString = JSON.stringify(CDC_MAPPING);
      expect(cdcConfigMap(withMapping(asString)).data?.['cdc-mapping.json']).toBe(asString);
    });

    it('mounts it read-only and points CDC_MAPPING_FILE at the mounted file', () => {
      const pod = podSpec(one(manifests, 'Deployment')).spec;
      const [container] = pod.containers;
      expect(pod.volumes).toContainEqual({
        name: 'cdc-mapping',
        configMap: { name: 'shop-invalidator-cdc', defaultMode: 0o444 },
      });
      const mount = container.volumeMounts.find((m) => m.name === 'cdc-mapping');
      expect(mount).toEqual({
        name: 'cdc-mapping',
        mountPath: '/etc/invalidator/cdc',
        readOnly: true,
      });
      expect(envOf(container)).toMatchObject({
        CDC_MAPPING_FILE: `${mount?.mountPath}/cdc-mapping.json`,
        CDC_SNAPSHOT_EVENTS: 'skip',
      });
      // The migrations Job, a pre-install hook, runs before the ConfigMap exists: not mounted.
      const job = podSpec(one(manifests, 'Job')).spec;
      expect(job.volumes.map((v) => v.name)).not.toContain('cdc-mapping');
      expect(envOf(job.containers[0])).not.toHaveProperty('CDC_MAPPING_FILE');
    });

    it('rolls the pods when the mapping changes (a checksum of its ConfigMap)', () => {
      expect(checksum(manifests)).toMatch(/^[0-9a-f]{64}$/);
      expect(checksum(withMapping(CDC_MAPPING))).toBe(checksum(manifests));
      const moved = { ...CDC_MAPPING, topics: ['catalog.example_shop.products'] };
      expect(checksum(withMapping(moved))).not.toBe(checksum(manifests));
    });

    it('sets cdc.snapshotEvents as CDC_SNAPSHOT_EVENTS, skip or apply only', () => {
      const apply = withMapping(CDC_MAPPING, { snapshotEvents: 'apply' });
      expect(envOf(podSpec(one(apply, 'Deployment')).spec.containers[0])).toMatchObject({
        CDC_SNAPSHOT_EVENTS: 'apply',
      });
      expect(() => withMapping(CDC_MAPPING, { snapshotEvents: 'maybe' })).toThrow(
        /cdc.snapshotEvents must be skip or apply, not maybe/,
      );
    });
  });

  describe('rendered with every option on', () => {
    let manifests: Manifest[];
    beforeAll(() => {
      manifests = render(allOn);
    });

    it('adds the ServiceMonitor on /metrics and the NetworkPolicy for the pods', () => {
      expect(kinds(manifests)).toEqual([
        'ConfigMap',
        'ConfigMap',
        'Deployment',
        'Job',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Service',
        'ServiceMonitor',
      ]);
      const monitor = one(manifests, 'ServiceMonitor');
      expect(monitor.spec.endpoints).toEqual([
        expect.objectContaining({ port: 'http', path: '/metrics', interval: '30s' }),
      ]);
      const policy = one(manifests, 'NetworkPolicy');
      expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      expect(JSON.stringify(policy.spec.egress)).toContain('3306');
    });

    it('mounts the existing Secret as files, read-only, and points each *_FILE at its key; no secret as a variable', () => {
      for (const kind of ['Deployment', 'Job']) {
        const pod = podSpec(one(manifests, kind)).spec;
        const [container] = pod.containers;
        expect(pod.volumes).toContainEqual({
          name: 'secrets',
          secret: { secretName: 'invalidator-secrets', defaultMode: 0o440 },
        });
        expect(container.volumeMounts).toContainEqual({
          name: 'secrets',
          mountPath: '/etc/invalidator/secrets',
          readOnly: true,
        });
        const env = envOf(container);
        for (const key of [
          'ADMIN_TOKEN',
          'MYSQL_PASSWORD',
          'REDIS_PASSWORD',
          'KAFKA_SASL_PASSWORD',
        ])
          expect(env[`${key}_FILE`]).toBe(`/etc/invalidator/secrets/${key}`);
        for (const secret of SECRET_SETTINGS) expect(env).not.toHaveProperty(secret);
        expect(JSON.stringify(container.envFrom ?? [])).not.toContain('secretRef');
        expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true });
      }
      const job = podSpec(one(manifests, 'Job')).spec.containers[0];
      expect(envOf(job).MYSQL_MIGRATIONS_PASSWORD_FILE).toBe(
        '/etc/invalidator/secrets/MYSQL_MIGRATIONS_PASSWORD',
      );
      // The settings' ConfigMap and the CDC mapping's.
      for (const configMap of manifests.filter((m) => m.kind === 'ConfigMap')) {
        for (const secret of SECRET_SETTINGS) expect(configMap.data).not.toHaveProperty(secret);
      }
      expect(one(manifests, 'PodDisruptionBudget').spec.minAvailable).toBe(2);
    });

    it('turns change data capture on with its mapping and snapshot reads applied', () => {
      const [container] = podSpec(one(manifests, 'Deployment')).spec.containers;
      expect(envOf(container)).toMatchObject({
        CDC_MAPPING_FILE: '/etc/invalidator/cdc/cdc-mapping.json',
        CDC_SNAPSHOT_EVENTS: 'apply',
      });
      const cdc = manifests.find((m) => m.metadata.name === 'shop-invalidator-cdc');
      expect(() =>
        parseCdcMapping(JSON.parse(cdc?.data?.['cdc-mapping.json'] ?? '')),
      ).not.toThrow();
    });

    it('turns TLS on per store with the CA (and a client certificate) from the TLS Secret', () => {
      for (const kind of ['Deployment', 'Job']) {
        const pod = podSpec(one(manifests, kind)).spec;
        expect(pod.volumes).toContainEqual({
          name: 'tls',
          secret: { secretName: 'invalidator-tls', defaultMode: 0o444 },
        });
        expect(envOf(pod.containers[0])).toMatchObject({
          KAFKA_TLS: 'true',
          KAFKA_TLS_CA_FILE: '/etc/invalidator/tls/ca.crt',
          KAFKA_TLS_CERT_FILE: '/etc/invalidator/tls/tls.crt',
          KAFKA_TLS_KEY_FILE: '/etc/invalidator/tls/tls.key',
          REDIS_TLS: 'true',
          REDIS_TLS_CA_FILE: '/etc/invalidator/tls/ca.crt',
          MYSQL_TLS: 'true',
          MYSQL_TLS_CA_FILE: '/etc/invalidator/tls/ca.crt',
        });
      }
    });
  });

  describe('rendered with HTTP_PORT set', () => {
    let manifests: Manifest[];
    beforeAll(() => {
      manifests = render(valuesFile("env:\n  HTTP_PORT: '8080'\n"));
    });

    it('listens, and is probed, on that port', () => {
      const [container] = podSpec(one(manifests, 'Deployment')).spec.containers;
      const configMap = one(manifests, 'ConfigMap') as unknown as { data: Record<string, string> };
      expect(configMap.data.HTTP_PORT).toBe('8080');
      expect(container.ports).toEqual([{ name: 'http', containerPort: 8080 }]);
      // A probe's port is the container port by number, or by its name.
      const probed = (port: number | string) =>
        typeof port === 'number'
          ? port
          : container.ports.find((p) => p.name === port)?.containerPort;
      expect(probed(container.livenessProbe.httpGet.port)).toBe(8080);
      expect(probed(container.readinessProbe.httpGet.port)).toBe(8080);
    });
  });
});
