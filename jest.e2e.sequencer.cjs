// The order of the end-to-end suites: by name, except that the cache suites, which empty the
// builder as a fresh runner's is empty, run last, so that no other suite starts cold after them.
const Sequencer = require('@jest/test-sequencer').default

class E2ESequencer extends Sequencer {
  sort(tests) {
    const last = (t) => (/[\\/](cache|warmci)\.e2e\.test\.ts$/.test(t.path) ? 1 : 0)
    return [...tests].sort((a, b) => last(a) - last(b) || a.path.localeCompare(b.path))
  }
}

module.exports = E2ESequencer
