/**
 * `content-path`: a subset of PostgreSQL SQL/JSON path (lax mode), which IVCAP evaluates on aspect content. An
 * aspect matches when the path yields at least one item (`jsonb_path_exists`), or — for a top-level predicate such
 * as `$.size > 3` — when the predicate is true.
 *
 * Supported:
 *   - `$`, `.key`, `."quoted key"`, `['key']`, `["key"]`, `.*`, `[*]`, `[n]`, `[n, m]`, `[last]`
 *   - filters `? ( predicate )` with `@` (current item) and `$` (root) paths
 *   - predicates: `==` `!=` `<>` `<` `<=` `>` `>=`, `like_regex "re"` (flag "i" allowed), `starts with "s"`,
 *     `exists ( path )`, `&&`, `||`, `!`, parentheses
 *   - literals: numbers, "double-quoted strings", `true`, `false`, `null`
 *   - an optional leading `lax` (`strict` is rejected)
 * Lax semantics: member access on an array applies to its elements; comparisons are true when any pair of items
 * compares true; comparing different types is false.
 */

export class JsonPathError {
  constructor(readonly message: string) {}
}

type Json = unknown

type Step =
  | { readonly _tag: "member"; readonly key: string }
  | { readonly _tag: "anyMember" }
  | { readonly _tag: "anyIndex" }
  | { readonly _tag: "index"; readonly indexes: ReadonlyArray<number | "last"> }
  | { readonly _tag: "filter"; readonly pred: Pred }

interface Path {
  readonly root: "$" | "@"
  readonly steps: ReadonlyArray<Step>
}

type Operand = { readonly _tag: "path"; readonly path: Path } | { readonly _tag: "lit"; readonly value: Json }

type Pred =
  | { readonly _tag: "and" | "or"; readonly l: Pred; readonly r: Pred }
  | { readonly _tag: "not"; readonly p: Pred }
  | { readonly _tag: "exists"; readonly path: Path }
  | { readonly _tag: "cmp"; readonly op: string; readonly l: Operand; readonly r: Operand }
  | { readonly _tag: "regex"; readonly l: Operand; readonly re: RegExp }
  | { readonly _tag: "starts"; readonly l: Operand; readonly prefix: string }

class Parser {
  i = 0
  constructor(readonly src: string) {}

  fail(what: string): never {
    throw new JsonPathError(`${what} at position ${this.i}`)
  }
  ws() {
    while (this.i < this.src.length && /\s/.test(this.src[this.i]!)) this.i++
  }
  eat(s: string): boolean {
    this.ws()
    if (this.src.startsWith(s, this.i)) {
      this.i += s.length
      return true
    }
    return false
  }
  word(w: string): boolean {
    this.ws()
    const re = new RegExp(`^${w}(?![A-Za-z0-9_])`)
    if (re.test(this.src.slice(this.i))) {
      this.i += w.length
      return true
    }
    return false
  }
  string(): string {
    this.ws()
    if (this.src[this.i] !== "\"") this.fail("expected a double-quoted string")
    let j = this.i + 1
    let out = ""
    while (j < this.src.length && this.src[j] !== "\"") {
      if (this.src[j] === "\\") {
        const n = this.src[j + 1]
        out += n === "n" ? "\n" : n === "t" ? "\t" : n ?? ""
        j += 2
      } else {
        out += this.src[j]
        j++
      }
    }
    if (j >= this.src.length) this.fail("unterminated string")
    this.i = j + 1
    return out
  }
  path(): Path {
    this.ws()
    const c = this.src[this.i]
    if (c !== "$" && c !== "@") this.fail("expected '$' or '@'")
    this.i++
    const steps: Array<Step> = []
    for (;;) {
      this.ws()
      const ch = this.src[this.i]
      if (ch === ".") {
        this.i++
        if (this.src[this.i] === "*") {
          this.i++
          steps.push({ _tag: "anyMember" })
        } else if (this.src[this.i] === "\"") {
          steps.push({ _tag: "member", key: this.string() })
        } else {
          const m = /^[A-Za-z_$][A-Za-z0-9_$-]*/.exec(this.src.slice(this.i))
          if (m === null) this.fail("expected a member name")
          this.i += m[0].length
          steps.push({ _tag: "member", key: m[0] })
        }
      } else if (ch === "[") {
        this.i++
        this.ws()
        if (this.eat("*")) {
          if (!this.eat("]")) this.fail("expected ']'")
          steps.push({ _tag: "anyIndex" })
        } else if (this.src[this.i] === "'" || this.src[this.i] === "\"") {
          const q = this.src[this.i]!
          const end = this.src.indexOf(q, this.i + 1)
          if (end === -1) this.fail("unterminated key")
          steps.push({ _tag: "member", key: this.src.slice(this.i + 1, end) })
          this.i = end + 1
          if (!this.eat("]")) this.fail("expected ']'")
        } else {
          const indexes: Array<number | "last"> = []
          do {
            this.ws()
            if (this.word("last")) {
              indexes.push("last")
              continue
            }
            const m = /^[0-9]+/.exec(this.src.slice(this.i))
            if (m === null) this.fail("expected an array index, '*' or 'last' (slices 'to' are not supported)")
            this.i += m[0].length
            indexes.push(Number(m[0]))
          } while (this.eat(","))
          if (!this.eat("]")) this.fail("expected ']' (slices 'n to m' are not supported)")
          steps.push({ _tag: "index", indexes })
        }
      } else if (ch === "?") {
        this.i++
        if (!this.eat("(")) this.fail("expected '(' after '?'")
        const pred = this.pred()
        if (!this.eat(")")) this.fail("expected ')'")
        steps.push({ _tag: "filter", pred })
      } else {
        break
      }
    }
    return { root: c, steps }
  }
  operand(): Operand {
    this.ws()
    const c = this.src[this.i]
    if (c === "$" || c === "@") return { _tag: "path", path: this.path() }
    if (c === "\"") return { _tag: "lit", value: this.string() }
    if (this.word("true")) return { _tag: "lit", value: true }
    if (this.word("false")) return { _tag: "lit", value: false }
    if (this.word("null")) return { _tag: "lit", value: null }
    const m = /^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.src.slice(this.i))
    if (m !== null) {
      this.i += m[0].length
      return { _tag: "lit", value: Number(m[0]) }
    }
    return this.fail("expected a path or a literal")
  }
  pred(): Pred {
    let l = this.andPred()
    while (this.eat("||")) l = { _tag: "or", l, r: this.andPred() }
    return l
  }
  andPred(): Pred {
    let l = this.unary()
    while (this.eat("&&")) l = { _tag: "and", l, r: this.unary() }
    return l
  }
  unary(): Pred {
    if (this.eat("!")) {
      if (!this.eat("(")) this.fail("expected '(' after '!'")
      const p = this.pred()
      if (!this.eat(")")) this.fail("expected ')'")
      return { _tag: "not", p }
    }
    if (this.word("exists")) {
      if (!this.eat("(")) this.fail("expected '(' after 'exists'")
      const path = this.path()
      if (!this.eat(")")) this.fail("expected ')'")
      return { _tag: "exists", path }
    }
    this.ws()
    if (this.src[this.i] === "(") {
      const save = this.i
      this.i++
      try {
        const p = this.pred()
        if (this.eat(")")) return p
      } catch {
        // not a parenthesised predicate
      }
      this.i = save
    }
    return this.comparison()
  }
  comparison(): Pred {
    const l = this.operand()
    if (this.word("like_regex")) {
      const pattern = this.string()
      let flags = ""
      if (this.word("flag")) {
        flags = this.string()
        if (!/^[i]*$/.test(flags)) this.fail("only flag \"i\" is supported")
      }
      try {
        return { _tag: "regex", l, re: new RegExp(pattern, flags) }
      } catch {
        return this.fail("invalid regular expression")
      }
    }
    if (this.word("starts")) {
      if (!this.word("with")) this.fail("expected 'with'")
      return { _tag: "starts", l, prefix: this.string() }
    }
    this.ws()
    const m = /^(==|!=|<>|<=|>=|<|>)/.exec(this.src.slice(this.i))
    if (m === null) return this.fail("expected a comparison operator")
    this.i += m[0].length
    return { _tag: "cmp", op: m[0], l, r: this.operand() }
  }
}

type Compiled = { readonly _tag: "path"; readonly path: Path } | { readonly _tag: "pred"; readonly pred: Pred }

/** Parses a content-path; throws `JsonPathError` naming the position of the problem. */
export const compileJsonPath = (src: string): (content: Json) => boolean => {
  const p = new Parser(src)
  p.ws()
  if (p.word("strict")) p.fail("'strict' mode is not supported (only lax)")
  p.word("lax")
  p.ws()
  const save = p.i
  let compiled: Compiled
  const path = p.path()
  if (path.root !== "$") p.fail("a content-path starts with '$'")
  p.ws()
  if (p.i < src.length) {
    p.i = save
    const pred = p.pred()
    p.ws()
    if (p.i < src.length) p.fail("unexpected input")
    compiled = { _tag: "pred", pred }
  } else {
    compiled = { _tag: "path", path }
  }
  return compiled._tag === "path"
    ? (content) => evalPath(compiled.path, content, content).length > 0
    : (content) => evalPred(compiled.pred, content, content)
}

const unwrap = (items: ReadonlyArray<Json>): Array<Json> =>
  items.flatMap((v) => (Array.isArray(v) ? v : [v]))

const isObject = (v: Json): v is Record<string, Json> => typeof v === "object" && v !== null && !Array.isArray(v)

const evalPath = (path: Path, root: Json, current: Json): Array<Json> => {
  let items: Array<Json> = [path.root === "$" ? root : current]
  for (const step of path.steps) {
    switch (step._tag) {
      case "member":
        items = unwrap(items).flatMap((v) => (isObject(v) && step.key in v ? [v[step.key]] : []))
        break
      case "anyMember":
        items = unwrap(items).flatMap((v) => (isObject(v) ? Object.values(v) : []))
        break
      case "anyIndex":
        items = items.flatMap((v) => (Array.isArray(v) ? v : [v]))
        break
      case "index":
        items = items.flatMap((v) => {
          const arr = Array.isArray(v) ? v : [v]
          return step.indexes.flatMap((ix) => {
            const n = ix === "last" ? arr.length - 1 : ix
            return n >= 0 && n < arr.length ? [arr[n]] : []
          })
        })
        break
      case "filter":
        items = unwrap(items).filter((v) => evalPred(step.pred, root, v))
        break
    }
  }
  return items
}

const operandItems = (o: Operand, root: Json, current: Json): Array<Json> =>
  o._tag === "lit" ? [o.value] : unwrap(evalPath(o.path, root, current))

const cmp = (op: string, a: Json, b: Json): boolean => {
  const ta = a === null ? "null" : typeof a
  const tb = b === null ? "null" : typeof b
  if (ta !== tb || (ta !== "number" && ta !== "string" && ta !== "boolean" && ta !== "null")) return false
  const x = a as number | string | boolean | null
  const y = b as number | string | boolean | null
  switch (op) {
    case "==":
      return x === y
    case "!=":
    case "<>":
      return x !== y
  }
  if (ta === "boolean" || ta === "null") return false
  switch (op) {
    case "<":
      return x! < y!
    case "<=":
      return x! <= y!
    case ">":
      return x! > y!
    case ">=":
      return x! >= y!
  }
  return false
}

const evalPred = (pred: Pred, root: Json, current: Json): boolean => {
  switch (pred._tag) {
    case "and":
      return evalPred(pred.l, root, current) && evalPred(pred.r, root, current)
    case "or":
      return evalPred(pred.l, root, current) || evalPred(pred.r, root, current)
    case "not":
      return !evalPred(pred.p, root, current)
    case "exists":
      return evalPath(pred.path, root, current).length > 0
    case "cmp": {
      const ls = operandItems(pred.l, root, current)
      const rs = operandItems(pred.r, root, current)
      return ls.some((a) => rs.some((b) => cmp(pred.op, a, b)))
    }
    case "regex":
      return operandItems(pred.l, root, current).some((a) => typeof a === "string" && pred.re.test(a))
    case "starts":
      return operandItems(pred.l, root, current).some((a) => typeof a === "string" && a.startsWith(pred.prefix))
  }
}
