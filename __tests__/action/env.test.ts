import { isTrustedEvent, runnerFrom } from '../../src/action/env.js'

const ENV = {
  GITHUB_WORKSPACE: '/ws',
  RUNNER_TEMP: '/rt',
  GITHUB_EVENT_NAME: 'pull_request',
  GITHUB_RUN_ID: '987654321',
  GITHUB_RUN_ATTEMPT: '2',
  GITHUB_JOB: 'image',
  GITHUB_REF: 'refs/pull/7/merge',
  GITHUB_BASE_REF: 'main',
  GITHUB_SHA: 'fedcba9876543210fedcba9876543210fedcba98',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'octo-org/todo',
  GITHUB_STEP_SUMMARY: '/rt/summary'
}

describe('runnerFrom', () => {
  it('reads the runner facts', () => {
    expect(runnerFrom(ENV, '/cwd')).toEqual({
      workspace: '/ws',
      tempDir: '/rt',
      eventName: 'pull_request',
      trustedEvent: false,
      runId: '987654321',
      runAttempt: '2',
      job: 'image',
      ref: 'refs/pull/7/merge',
      baseRef: 'main',
      sha: 'fedcba9876543210fedcba9876543210fedcba98',
      serverUrl: 'https://github.com',
      repository: 'octo-org/todo',
      actionsCache: false,
      summaryFile: true
    })
  })

  it.each([
    ['push', true],
    ['workflow_dispatch', true],
    ['pull_request', false],
    ['pull_request_target', false],
    ['workflow_run', false],
    ['issue_comment', false],
    ['pull_request_review', false],
    ['pull_request_review_comment', false],
    ['schedule', false],
    ['merge_group', false],
    ['Push', false],
    ['', false]
  ])('GITHUB_EVENT_NAME=%p: a trusted event %p', (event, want) => {
    expect(isTrustedEvent(event)).toBe(want)
    expect(runnerFrom({ ...ENV, GITHUB_EVENT_NAME: event }, '/cwd').trustedEvent).toBe(want)
  })

  it("the pull request's number comes from the event payload: pull_request*, an issue_comment on a pull request; none otherwise", () => {
    expect(runnerFrom(ENV, '/cwd', { pull_request: { number: 7 } }).pullRequest).toBe(7)
    expect(runnerFrom(ENV, '/cwd', { issue: { number: 8, pull_request: { url: 'u' } } }).pullRequest).toBe(8)
    expect(runnerFrom(ENV, '/cwd', { issue: { number: 9 } }).pullRequest).toBeUndefined()
    expect(runnerFrom(ENV, '/cwd', { pull_request: { number: '7; rm' } }).pullRequest).toBeUndefined()
    expect(runnerFrom(ENV, '/cwd').pullRequest).toBeUndefined()
  })

  it('outside Actions: empty facts, the working directory as workspace', () => {
    const r = runnerFrom({}, '/cwd')
    expect(r).toMatchObject({ workspace: '/cwd', eventName: '', trustedEvent: false, runId: '', runAttempt: '', sha: '', serverUrl: '', repository: '', summaryFile: false })
  })

  it.each([
    ['false', false],
    ['FALSE', false],
    [' false ', false],
    ['true', true],
    ['0', true],
    ['', true]
  ])('DOCKER_BUILD_SUMMARY=%p: job summary %p, as for Docker’s actions', (value, want) => {
    expect(runnerFrom({ ...ENV, DOCKER_BUILD_SUMMARY: value }, '/cwd').summaryFile).toBe(want)
  })

  it('no job summary file, no job summary', () => {
    expect(runnerFrom({ ...ENV, GITHUB_STEP_SUMMARY: '' }, '/cwd').summaryFile).toBe(false)
  })

  it('the cache service needs a URL and the runtime token', () => {
    expect(runnerFrom({ ...ENV, ACTIONS_RESULTS_URL: 'https://results', ACTIONS_RUNTIME_TOKEN: 't' }, '/cwd').actionsCache).toBe(true)
    expect(runnerFrom({ ...ENV, ACTIONS_CACHE_URL: 'https://cache' }, '/cwd').actionsCache).toBe(false)
  })
})
