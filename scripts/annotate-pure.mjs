#!/usr/bin/env node
// Marks the calls a module makes while it loads as `/*#__PURE__*/` in the packages' built JavaScript, as Effect's
// own build does with babel-plugin-annotate-pure-calls: `export const Foo = Schema.Struct(…)`,
// `export class Bar extends Schema.Class<Bar>("Bar")({…}) {}`, `const listing = Paging.makeListing(…)`. Bundlers
// (esbuild, Rollup/Vite) may then drop such a declaration when nothing uses it; without the mark they must keep
// every call, and everything it reaches, because it might have a side effect.
//
// Only calls evaluated to initialise a declaration are marked — variable initialisers, class `extends` clauses,
// static class fields, `export default` — never a bare call statement, and nothing inside a function body. The
// packages declare `"sideEffects": []`: no module of theirs needs a call made for its effect at load time.
//
// Run after `tsc -b` (`pnpm build` does): `node scripts/annotate-pure.mjs [dist dirs…]`. Idempotent (an already
// marked call is left alone), and it shifts the `.js.map` source maps by the inserted text, so they stay exact.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import ts from "typescript"

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const defaultDirs = ["packages/core/dist", "packages/browser/dist", "packages/node/dist"]
const MARK = "/*#__PURE__*/ "

/** How many pure marks directly precede `at` (only comments and spaces between them). */
const marksBefore = (text, at) => {
  const match = /(?:\/\*\s*[#@]__PURE__\s*\*\/\s*)+$/.exec(text.slice(Math.max(0, at - 400), at))
  return match ? match[0].match(/__PURE__/g).length : 0
}

/**
 * Offsets at which to insert a mark: one per unmarked call evaluated while the module loads (a chain `a(x).b(y)`
 * has two calls starting at `a`, and gets two marks there).
 */
export const pureCallStarts = (text, fileName = "module.js") => {
  const file = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS)
  const calls = new Map()
  const visit = (node) => {
    // Function bodies run later (or never); class bodies only through their heritage and static fields.
    if (ts.isFunctionLike(node)) return
    if (ts.isClassLike(node)) return visitClass(node)
    if ((ts.isCallExpression(node) || ts.isNewExpression(node)) && node.expression.kind !== ts.SyntaxKind.ImportKeyword) {
      const at = node.getStart(file)
      calls.set(at, (calls.get(at) ?? 0) + 1)
    }
    ts.forEachChild(node, visit)
  }
  const visitClass = (node) => {
    for (const clause of node.heritageClauses ?? []) for (const type of clause.types) visit(type.expression)
    for (const member of node.members) {
      const isStatic = ts.getCombinedModifierFlags(member) & ts.ModifierFlags.Static
      if (ts.isPropertyDeclaration(member) && isStatic && member.initializer) visit(member.initializer)
    }
  }
  for (const statement of file.statements) {
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) if (declaration.initializer) visit(declaration.initializer)
    } else if (ts.isClassDeclaration(statement)) {
      visitClass(statement)
    } else if (ts.isExportAssignment(statement)) {
      visit(statement.expression)
    }
  }
  return [...calls].sort((a, b) => a[0] - b[0]).flatMap(([at, n]) => Array(Math.max(0, n - marksBefore(text, at))).fill(at))
}

// Source map VLQ (base64 digits, 5 bits per digit, sign in the lowest bit of the value).
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
const decodeVlq = (segment) => {
  const values = []
  let value = 0
  let shift = 0
  for (const ch of segment) {
    const digit = B64.indexOf(ch)
    if (digit < 0) throw new Error(`bad VLQ digit ${JSON.stringify(ch)} in ${segment}`)
    value += (digit & 31) << shift
    if (digit & 32) shift += 5
    else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1)
      value = 0
      shift = 0
    }
  }
  return values
}
const encodeVlq = (values) =>
  values.map((v) => {
    let rest = v < 0 ? (-v << 1) | 1 : v << 1
    let out = ""
    do {
      const digit = rest & 31
      rest >>>= 5
      out += B64[rest > 0 ? digit | 32 : digit]
    } while (rest > 0)
    return out
  }).join("")

/** Moves every generated column by the marks inserted at or before it on its line. */
export const shiftMappings = (mappings, insertsByLine) =>
  mappings.split(";").map((line, index) => {
    const inserts = insertsByLine.get(index)
    if (!inserts || line === "") return line
    let column = 0
    let shifted = 0
    return line.split(",").map((segment) => {
      const values = decodeVlq(segment)
      column += values[0]
      const moved = column + MARK.length * inserts.filter((at) => at <= column).length
      values[0] = moved - shifted
      shifted = moved
      return encodeVlq(values)
    }).join(",")
  }).join(";")

/** Marks one file (and its source map, when there is one); returns how many calls it marked. */
export const annotateFile = (path) => {
  const text = readFileSync(path, "utf8")
  const starts = pureCallStarts(text, path)
  if (starts.length === 0) return 0
  let out = ""
  let last = 0
  for (const at of starts) {
    out += text.slice(last, at) + MARK
    last = at
  }
  writeFileSync(path, out + text.slice(last))
  const mapPath = `${path}.map`
  let map
  try {
    map = JSON.parse(readFileSync(mapPath, "utf8"))
  } catch {
    return starts.length
  }
  const lineStarts = ts.computeLineStarts(text)
  const insertsByLine = new Map()
  for (const at of starts) {
    const { character, line } = ts.computeLineAndCharacterOfPosition(lineStarts, at)
    insertsByLine.set(line, [...(insertsByLine.get(line) ?? []), character])
  }
  map.mappings = shiftMappings(map.mappings, insertsByLine)
  writeFileSync(mapPath, JSON.stringify(map))
  return starts.length
}

const jsFiles = (dir) =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? jsFiles(path) : path.endsWith(".js") ? [path] : []
  })

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dirs = process.argv.length > 2 ? process.argv.slice(2) : defaultDirs.map((d) => join(root, d))
  let files = 0
  let calls = 0
  for (const dir of dirs) {
    for (const file of jsFiles(dir)) {
      const n = annotateFile(file)
      if (n > 0) files++
      calls += n
    }
  }
  if (calls > 0) console.log(`annotate-pure: marked ${calls} calls in ${files} files`)
}
