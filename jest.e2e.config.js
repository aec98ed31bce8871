// End-to-end tests: the real engine, registry, QEMU and .NET SDK. One at a time.
export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  roots: ['<rootDir>/e2e'],
  testMatch: ['**/*.e2e.test.ts'],
  // e2e/beyond: suites CI cannot run (they need what CI machines cannot fetch); their own scripts run them.
  testPathIgnorePatterns: ['/node_modules/', '/e2e/beyond/'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testTimeout: 45 * 60 * 1000,
  maxWorkers: 1,
  testSequencer: '<rootDir>/jest.e2e.sequencer.cjs'
}
