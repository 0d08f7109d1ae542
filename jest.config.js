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
// Which specs and projects this run collects: those of its leg of .ci/run (test/legs.ts, plain
// TypeScript compiled here as jest compiles the specs; the unit spec imports it too).
const legsFile = `${__dirname}/test/legs.ts`;
const { code } = require('./test/support/jest-transformer').process(
  require('node:fs').readFileSync(legsFile, 'utf8'),
  legsFile,
);
const legs = {};
new Function('exports', code)(legs);
const { LEGS, ignoredOn, legOf } = legs;
const leg = legOf(process.env);
const base = {
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'json'],
  transform,
  transformIgnorePatterns,
  moduleNameMapper,
  rootDir: __dirname,
  testPathIgnorePatterns: ['/node_modules/', ...ignoredOn(leg)],
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
  ].filter((project) => LEGS[leg].includes(project.displayName)),
};
