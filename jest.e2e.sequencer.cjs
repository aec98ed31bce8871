// The order of the end-to-end suites: by name, except that the cache suite, which empties the
// builder as a fresh runner's is empty, runs last, so that no other suite starts cold after it.
const Sequencer = require('@jest/test-sequencer').default

class E2ESequencer extends Sequencer {
  sort(tests) {
    const last = (t) => (/[\\/]cache\.e2e\.test\.ts$/.test(t.path) ? 1 : 0)
    return [...tests].sort((a, b) => last(a) - last(b) || a.path.localeCompare(b.path))
  }
}

module.exports = E2ESequencer
