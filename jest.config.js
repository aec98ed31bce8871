// Unit tests: pure modules and the runner-style shell test with a fake docker.
import * as os from 'node:os'

export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
  testTimeout: 60000,
  // Jest's default is one worker less than the cores: on a 2-core CI machine, one. The slow
  // suites wait on processes (the bundle, a fake docker, the evaluation container), so two run
  // well side by side.
  maxWorkers: Math.max(2, os.availableParallelism())
}
