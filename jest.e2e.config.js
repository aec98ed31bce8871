// End-to-end tests: the real engine, registry, QEMU and .NET SDK. One at a time.
export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  roots: ['<rootDir>/e2e'],
  testMatch: ['**/*.e2e.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testTimeout: 45 * 60 * 1000,
  maxWorkers: 1,
  testSequencer: '<rootDir>/jest.e2e.sequencer.cjs'
}
