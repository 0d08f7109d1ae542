import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
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

function render(...valuesFiles: string[]): Manifest[] {
  const out = execFileSync(
    'bash',
    [join(root, 'scripts', 'helm.sh'), 'template', chart, ...valuesFiles],
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
  livenessProbe: { httpGet: { path: string } };
  readinessProbe: { httpGet: { path: string } };
  securityContext: Record<string, unknown>;
  resources: { requests?: Record<string, string>; limits?: Record<string, string> };
  envFrom: Record<string, { name: string }>[];
}
interface PodSpec {
  securityContext: Record<string, unknown>;
  containers: Container[];
}
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
        'PodDisruptionBudget',
        'Service',
      ]);
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

    it('takes secrets from the existing Secret and keeps the hardening', () => {
      const deployment = one(manifests, 'Deployment');
      const [container] = podSpec(deployment).spec.containers;
      expect(container.envFrom).toContainEqual({ secretRef: { name: 'invalidator-secrets' } });
      expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true });
      expect(one(manifests, 'PodDisruptionBudget').spec.minAvailable).toBe(2);
    });
  });
});
