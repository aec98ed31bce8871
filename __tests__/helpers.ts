// Helpers every test folder shares: one home each.
import { expect } from '@jest/globals'
import type { DockerfilePlan } from '../src/dockerfile/generate.js'
import { defaultImages } from '../src/dockerfile/images.js'

/** The error `fn` throws, checked to be of class `type` (the test fails when it throws none). */
export function thrownBy<E extends Error>(fn: () => unknown, type: abstract new (...args: never[]) => E): E {
  let thrown: unknown
  try {
    fn()
  } catch (e) {
    thrown = e
  }
  expect(thrown).toBeInstanceOf(type)
  return thrown as E
}

/** A Dockerfile plan for the TodoApi sample (.NET 10, chiseled, both targets), with overrides. */
export function dockerfilePlan(over: Partial<DockerfilePlan> = {}): DockerfilePlan {
  const major = over.dotnetMajor ?? 10
  const flavor = over.flavor ?? 'chiseled'
  return {
    sdkImage: defaultImages(major, '', flavor).sdk,
    runtimeImage: defaultImages(major, '', flavor).runtime,
    flavor,
    targets: ['amd64', 'arm64'],
    dotnetMajor: major,
    project: 'src/TodoApi/TodoApi.csproj',
    framework: '',
    configuration: 'Release',
    restoreFiles: ['Directory.Build.props', 'src/TodoApi/TodoApi.csproj'],
    targetName: 'TodoApi',
    isWeb: true,
    nugetSecret: false,
    buildArgNames: [],
    generatedFrom: 'src/TodoApi/TodoApi.csproj (net10.0)',
    trustedEvent: true,
    ...over
  }
}

/** items[i] (a negative i counts from the end), failing with a clear message when there is no such element. */
export function at<T>(items: readonly T[], i: number, what = 'element'): T {
  const item = items.at(i)
  if (item === undefined) throw new Error(`expected ${what} ${i}, but there are ${items.length}`)
  return item
}

/** v, failing with a clear message when it is undefined or null. */
export function defined<T>(v: T | undefined | null, what = 'a value'): T {
  if (v === undefined || v === null) throw new Error(`expected ${what}, got ${String(v)}`)
  return v
}
