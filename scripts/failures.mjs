// Prints, from jest --json result files, each failed test's name and the first lines of
// its message, so the end of a long CI log names the cause (the runner's own output is
// clipped to its tail there).
import { readFileSync, existsSync } from 'node:fs';

const LINES = 12;
let any = false;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) continue;
  const r = JSON.parse(readFileSync(file, 'utf8'));
  for (const suite of r.testResults ?? []) {
    const failed = (suite.assertionResults ?? []).filter((a) => a.status === 'failed');
    if (failed.length === 0 && suite.status === 'failed' && suite.message) {
      failed.push({ fullName: '(the suite did not run)', failureMessages: [suite.message] });
    }
    for (const a of failed) {
      if (!any) console.log('==> failed tests');
      any = true;
      const name = suite.name.replace(process.cwd() + '/', '');
      const text = (a.failureMessages ?? []).join('\n').replace(/\x1b\[[0-9;]*m/g, '');
      const lines = text.split('\n').filter((l) => l.trim() !== '').slice(0, LINES);
      console.log(`  ${name}: ${a.fullName}`);
      for (const l of lines) console.log(`      ${l}`);
    }
  }
}
