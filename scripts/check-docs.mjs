#!/usr/bin/env node
// Every ```ts code block in the docs is compiled: blocks are extracted to examples/build/snippets/ and
// type-checked against the built packages (run after `tsc -b`). A block fenced as ```ts no-check is skipped
// (used only for fragments that cannot stand alone, and said so next to it).
import { execFileSync } from "node:child_process"
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs"
import { join, relative } from "node:path"

const root = new URL("..", import.meta.url).pathname
const out = join(root, "examples/build/snippets")
const docs = [
  "README.md",
  ...["core", "node", "browser", "emulator"].map((p) => `packages/${p}/README.md`),
  ...(existsSync(join(root, "docs")) ? readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`) : [])
].filter((f) => existsSync(join(root, f)))

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
let count = 0
for (const doc of docs) {
  const text = readFileSync(join(root, doc), "utf8")
  const re = /^```(ts|typescript)([^\n]*)\n([\s\S]*?)^```/gm
  let m
  let i = 0
  while ((m = re.exec(text))) {
    i++
    if (m[2].includes("no-check")) continue
    const name = `${doc.replace(/[/.]/g, "_")}_${i}.ts`
    // Each snippet is its own module.
    writeFileSync(join(out, name), `// from ${doc}, block ${i}\n${m[3]}\nexport {}\n`)
    count++
  }
}
writeFileSync(join(out, "tsconfig.json"), JSON.stringify({
  extends: "../../../tsconfig.base.json",
  compilerOptions: { noEmit: true, composite: false, incremental: false, declaration: false, declarationMap: false, types: ["node"], noUnusedLocals: false, noUnusedParameters: false, rootDir: "." },
  include: ["*.ts"]
}, null, 2))
if (count === 0) {
  console.log("check-docs: no ts blocks found")
  process.exit(0)
}
try {
  execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", join(out, "tsconfig.json")], { stdio: "inherit", cwd: join(root, "examples") })
  console.log(`check-docs: ${count} code blocks from ${docs.length} documents compile (${relative(root, out)})`)
} catch {
  console.error("check-docs: a documentation code block does not compile (see above)")
  process.exit(1)
}
