/** Unit specs sit beside the code; e2e and fault specs run against the real stack in test/. */
const moduleNameMapper = {
  '^@invalidator/(.*)$': '<rootDir>/libs/$1/src',
};
// @nestjs 12 ships ES modules only. jest cannot require() them on Node 20, so there it compiles
// them to CommonJS along with our TypeScript. From Node 24.9, run with
// NODE_OPTIONS=--experimental-vm-modules, jest requires them natively and only our own
// TypeScript is compiled (the Node 24 leg of .ci/run does this).
const [major, minor] = process.versions.node.split('.').map(Number);
const nativeRequireEsm =
  (major > 24 || (major === 24 && minor >= 9)) &&
  typeof require('node:vm').SourceTextModule === 'function';
const transform = { '^.+\\.[tj]s$': '<rootDir>/test/support/jest-transformer.js' };
const transformIgnorePatterns = nativeRequireEsm
  ? ['/node_modules/']
  : [
      '/node_modules/(?!(@nestjs|file-type|strtok3|token-types|@tokenizer|uint8array-extras|load-esm)/)',
    ];
// The cluster-only specs run when a Redis Cluster is configured (the cluster leg of .ci/run);
// elsewhere they are not collected at all rather than skipped.
const clusterOnly = process.env.TEST_REDIS_CLUSTER_NODES
  ? []
  : ['/test/redis-cluster\\.e2e-spec\\.ts$', '/test/faults/redis-cluster\\.fault-spec\\.ts$'];
// The secured-stack specs need TLS, SASL and ACL users (scripts/stack.sh secure-up and the
// TEST_* settings of .stack/secure/env): collected only on that stack (the secured leg).
const secureOnly =
  process.env.TEST_SECURE === '1'
    ? []
    : [
        '/test/secure-connections\\.e2e-spec\\.ts$',
        '/test/mysql-least-privilege\\.e2e-spec\\.ts$',
        '/test/secret-leak\\.e2e-spec\\.ts$',
        '/test/secure-redis-cluster\\.e2e-spec\\.ts$',
      ];
const base = {
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform,
  transformIgnorePatterns,
  moduleNameMapper,
  rootDir: __dirname,
  testPathIgnorePatterns: ['/node_modules/', ...clusterOnly, ...secureOnly],
};

module.exports = {
  projects: [
    {
      ...base,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/apps/**/*.spec.ts',
        '<rootDir>/libs/**/*.spec.ts',
        '<rootDir>/test/**/*.spec.ts',
      ],
    },
    {
      ...base,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/e2e-setup.ts'],
    },
    {
      ...base,
      displayName: 'faults',
      testMatch: ['<rootDir>/test/**/*.fault-spec.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/e2e-setup.ts'],
    },
  ],
};
