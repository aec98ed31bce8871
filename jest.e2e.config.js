// End-to-end tests: the real engine, registry, QEMU and .NET SDK. One at a time.
// Suites outside the CI list until they have passed a whole run (README, Development): run them
// with AOT_E2E_ALL=1.
const notInCi = process.env.AOT_E2E_ALL === '1' ? [] : ['/e2e/cachefaults\\.e2e\\.test\\.ts$']
export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  roots: ['<rootDir>/e2e'],
  testMatch: ['**/*.e2e.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', ...notInCi],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testTimeout: 45 * 60 * 1000,
  maxWorkers: 1,
  testSequencer: '<rootDir>/jest.e2e.sequencer.cjs'
}
