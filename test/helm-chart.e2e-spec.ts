import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/** The chart rendered and linted by real Helm (helm-java on Java 17; scripts/helm.sh). */
const root = join(__dirname, '..');
const chart = join(root, 'helm', 'invalidator');
const allOn = join(chart, 'ci', 'all-on-values.yaml');

interface Manifest {
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
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
  volumes: { name: string; secret?: { secretName: string }; emptyDir?: unknown }[];
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
  deployment.spec.template as { spec: PodSpec; metadata: { labels: Record<string, string> } };

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
  });

  describe('rendered with every option on', () => {
    let manifests: Manifest[];
    beforeAll(() => {
      manifests = render(allOn);
    });

    it('adds the ServiceMonitor on /metrics and the NetworkPolicy for the pods', () => {
      expect(kinds(manifests)).toEqual([
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
      const configMap = one(manifests, 'ConfigMap') as unknown as { data: Record<string, string> };
      for (const secret of SECRET_SETTINGS) expect(configMap.data).not.toHaveProperty(secret);
      expect(one(manifests, 'PodDisruptionBudget').spec.minAvailable).toBe(2);
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
      const values = join(mkdtempSync(join(tmpdir(), 'chart-values-')), 'values.yaml');
      writeFileSync(values, "env:\n  HTTP_PORT: '8080'\n");
      manifests = render(values);
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
