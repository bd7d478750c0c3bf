/**
 * A parser for the subset of Google's Mangle Datalog (github.com/google/mangle, `parse/gen/Mangle.g4`) that IVCAP
 * queries use:
 *
 * ```
 * program  := clause*
 * clause   := atom '.'                                  a fact (no variables)
 *           | atom (':-' | '⟸') body '.'               a rule
 *           | ':-' body '.'                             the query (IVCAP's form; its variables are the result)
 *           | ':load_aspect' '(' /name ',' "schema" ',' '[' "path" (',' "path")* ']' ')' '.'
 * body     := literal (',' literal)* ','?
 * literal  := atom | '!' atom | term op term            op: = != < <= > >=
 * atom     := name '(' (term (',' term)*)? ')' | name
 * term     := Variable | _ | /name | "string" | 'string' | `string` | number | float | '[' terms ']'
 * ```
 *
 * Comments run from `#` to the end of the line. Not supported (a clear error, with line and column): `Decl`,
 * `Package`/`Use`, transforms (`|> do …`, `let`), function calls (`fn:…`), maps, structs, temporal annotations.
 */
import { type Atom, type Clause, type CmpOp, DatalogError, type Literal, type LoadAspect, Name, type Pos, type Program, type Term, type Value } from "./ast.js"

type TokKind = "var" | "name" | "const" | "string" | "number" | "punct" | "eof"

interface Token {
  readonly kind: TokKind
  readonly text: string
  readonly value?: Value
  readonly pos: Pos
}

const isDigit = (c: string | undefined) => c !== undefined && c >= "0" && c <= "9"
const isLower = (c: string | undefined) => c !== undefined && c >= "a" && c <= "z"
const isUpper = (c: string | undefined) => c !== undefined && c >= "A" && c <= "Z"
const isLetter = (c: string | undefined) => isLower(c) || isUpper(c)
const isNameChar = (c: string | undefined) => isLetter(c) || isDigit(c) || c === ":" || c === "_"
const isConstChar = (c: string | undefined) => isLetter(c) || isDigit(c) || (c !== undefined && ".-_~%".includes(c))

const puncts = [":-", "!=", "<=", ">=", "|>", "(", ")", "[", "]", "{", "}", ",", ".", "=", "<", ">", "!", "@", ":", "⟸"]

const describe = (t: Token): string =>
  t.kind === "eof" ? "the end of the query" : t.kind === "string" ? `the string ${t.text}` : `'${t.text}'`

/** Splits the text into tokens (positions are 1-based line and column). */
export const tokenize = (src: string): Array<Token> => {
  const out: Array<Token> = []
  let i = 0
  let line = 1
  let lineStart = 0
  const pos = (at: number): Pos => ({ line, column: at - lineStart + 1 })
  const fail = (at: number, message: string): never => {
    throw new DatalogError("syntax", message, pos(at))
  }
  while (i < src.length) {
    const c = src[i]!
    if (c === "\n") {
      i++
      line++
      lineStart = i
      continue
    }
    if (c === " " || c === "\t" || c === "\r" || c === "\f") {
      i++
      continue
    }
    if (c === "#") {
      while (i < src.length && src[i] !== "\n") i++
      continue
    }
    const start = i
    if (c === "_" || isUpper(c)) {
      i++
      while (isLetter(src[i]) || isDigit(src[i]) || src[i] === "_") i++
      out.push({ kind: "var", text: src.slice(start, i), pos: pos(start) })
      continue
    }
    if (isLower(c) || (c === ":" && isLower(src[i + 1]))) {
      i++
      while (isNameChar(src[i]) || (src[i] === "." && isNameChar(src[i + 1]) && src[i + 1] !== ":")) i++
      out.push({ kind: "name", text: src.slice(start, i), pos: pos(start) })
      continue
    }
    if (c === "/" && isConstChar(src[i + 1])) {
      i++
      // a '.' ends the name unless a name character follows (so `X = /done.` ends the clause)
      while ((isConstChar(src[i]) && (src[i] !== "." || isConstChar(src[i + 1]))) || (src[i] === "/" && isConstChar(src[i + 1]))) i++
      const text = src.slice(start, i)
      const value: Value = text === "/true" ? true : text === "/false" ? false : new Name(text)
      out.push({ kind: "const", text, value, pos: pos(start) })
      continue
    }
    if (isDigit(c) || ((c === "-" || c === ".") && isDigit(src[i + 1])) || (c === "-" && src[i + 1] === "." && isDigit(src[i + 2]))) {
      if (c === "-") i++
      while (isDigit(src[i])) i++
      let float = false
      if (src[i] === "." && isDigit(src[i + 1])) {
        float = true
        i++
        while (isDigit(src[i])) i++
      }
      if ((src[i] === "e" || src[i] === "E") && (isDigit(src[i + 1]) || ((src[i + 1] === "+" || src[i + 1] === "-") && isDigit(src[i + 2])))) {
        float = true
        i += 2
        while (isDigit(src[i])) i++
      }
      const text = src.slice(start, i)
      const n = Number(text)
      if (!float && !Number.isSafeInteger(n)) fail(start, `the number ${text} is out of range`)
      out.push({ kind: "number", text, value: n, pos: pos(start) })
      continue
    }
    if (c === "\"" || c === "'" || c === "`") {
      const startPos = pos(start)
      i++
      let s = ""
      for (;;) {
        if (i >= src.length) {
          throw new DatalogError("syntax", `unterminated string (it starts here)`, startPos)
        }
        const d = src[i]!
        if (d === c) {
          i++
          break
        }
        if (d === "\n") {
          if (c !== "`") fail(i, "a newline in a string (use \\n, or a `backtick` string)")
          s += d
          i++
          line++
          lineStart = i
          continue
        }
        if (d === "\\") {
          const e = src[i + 1]
          const simple: Record<string, string> = { n: "\n", t: "\t", "\"": "\"", "'": "'", "\\": "\\", "`": "`" }
          if (e !== undefined && simple[e] !== undefined) {
            s += simple[e]
            i += 2
          } else if (e === "\n") {
            i += 2
            line++
            lineStart = i
          } else if (e === "x" && /^[0-9a-fA-F]{2}$/.test(src.slice(i + 2, i + 4))) {
            s += String.fromCharCode(parseInt(src.slice(i + 2, i + 4), 16))
            i += 4
          } else if (e === "u" && src[i + 2] === "{") {
            const m = /^\{([0-9a-fA-F]{4,6})\}/.exec(src.slice(i + 2))
            if (m === null) fail(i, "bad unicode escape (write \\u{hhhh})")
            const cp = parseInt(m![1]!, 16)
            if (cp > 0x10ffff) fail(i, "unicode escape out of range")
            s += String.fromCodePoint(cp)
            i += 2 + m![0].length
          } else {
            fail(i, `unknown escape '\\${e ?? ""}' in a string`)
          }
          continue
        }
        s += d
        i++
      }
      out.push({ kind: "string", text: src.slice(start, i), value: s, pos: startPos })
      continue
    }
    const p = puncts.find((q) => src.startsWith(q, i))
    if (p === undefined) fail(i, `unexpected character '${c}'`)
    i += p!.length
    out.push({ kind: "punct", text: p!, pos: pos(start) })
  }
  out.push({ kind: "eof", text: "", pos: pos(i) })
  return out
}

const cmpOps: ReadonlyArray<string> = ["=", "!=", "<", "<=", ">", ">="]

/** Parses a query text; throws `DatalogError("syntax")` with the line and column of the problem. */
export const parse = (src: string): Program => {
  const toks = tokenize(src)
  let k = 0
  const peek = (ahead = 0): Token => toks[Math.min(k + ahead, toks.length - 1)]!
  const next = (): Token => toks[Math.min(k++, toks.length - 1)]!
  const fail = (t: Token, message: string): never => {
    throw new DatalogError("syntax", message, t.pos)
  }
  const expect = (text: string, what = `'${text}'`): Token => {
    const t = next()
    if (t.kind !== "punct" || t.text !== text) fail(t, `expected ${what} but found ${describe(t)}`)
    return t
  }
  const isPunct = (t: Token, text: string) => t.kind === "punct" && t.text === text

  const unsupported = (t: Token): string | undefined => {
    if (t.kind === "name" && t.text.startsWith("fn:")) return `function calls (${t.text}) are not supported by the emulator`
    if (isPunct(t, "{")) return "structs ({…}) are not supported by the emulator"
    if (isPunct(t, "|>")) return "transforms (|> do …, let …) are not supported by the emulator"
    if (isPunct(t, "@")) return "temporal annotations (@[…]) are not supported by the emulator; use the at-time parameter"
    return undefined
  }

  const term = (): Term => {
    const t = peek()
    const u = unsupported(t)
    if (u !== undefined) fail(t, u)
    if (t.kind === "var") {
      next()
      return { kind: "var", name: t.text, pos: t.pos }
    }
    if (t.kind === "const" || t.kind === "string" || t.kind === "number") {
      next()
      return { kind: "const", value: t.value!, pos: t.pos }
    }
    if (isPunct(t, "[")) {
      next()
      const items: Array<Value> = []
      while (!isPunct(peek(), "]")) {
        const item = term()
        if (item.kind !== "const") fail(peek(-1), "a list may only hold constants")
        items.push((item as { value: Value }).value)
        if (isPunct(peek(), ":")) fail(peek(), "maps ([k: v]) are not supported by the emulator")
        if (!isPunct(peek(), ",")) break
        next()
      }
      expect("]", "',' or ']'")
      return { kind: "const", value: items, pos: t.pos }
    }
    if (t.kind === "name") fail(t, `expected a term but found the predicate or function name '${t.text}'`)
    return fail(t, `expected a term (Variable, "string", number or /name) but found ${describe(t)}`)
  }

  const atomAfterName = (nameTok: Token): Atom => {
    const args: Array<Term> = []
    if (isPunct(peek(), "(")) {
      next()
      if (!isPunct(peek(), ")")) {
        for (;;) {
          args.push(term())
          if (!isPunct(peek(), ",")) break
          next()
        }
      }
      expect(")", "',' or ')'")
    }
    return { pred: nameTok.text, args, pos: nameTok.pos }
  }

  const atom = (): Atom => {
    const t = next()
    if (t.kind !== "name") fail(t, `expected a predicate name (lower case, e.g. ivcap_artifact) but found ${describe(t)}`)
    if (t.text.startsWith("fn:")) fail(t, unsupported(t)!)
    return atomAfterName(t)
  }

  const literal = (): Literal => {
    const t = peek()
    if (isPunct(t, "!")) {
      next()
      const a = atom()
      return { kind: "atom", atom: a, negated: true, pos: t.pos }
    }
    if (t.kind === "name" && !t.text.startsWith("fn:")) {
      next()
      const a = atomAfterName(t)
      const op = peek()
      if (op.kind === "punct" && cmpOps.includes(op.text)) fail(op, "a predicate cannot be compared (only terms can)")
      return { kind: "atom", atom: a, negated: false, pos: t.pos }
    }
    const left = term()
    const op = next()
    if (op.kind !== "punct" || !cmpOps.includes(op.text)) {
      fail(op, `expected a comparison (=, !=, <, <=, >, >=) after the term but found ${describe(op)}`)
    }
    const right = term()
    return { kind: "cmp", op: op.text as CmpOp, left, right, pos: left.pos }
  }

  const body = (): Array<Literal> => {
    const lits: Array<Literal> = [literal()]
    while (isPunct(peek(), ",")) {
      next()
      if (isPunct(peek(), ".") || isPunct(peek(), "|>")) break
      lits.push(literal())
    }
    const u = unsupported(peek())
    if (u !== undefined) fail(peek(), u)
    return lits
  }

  const loadAspect = (t: Token, a: Atom): LoadAspect => {
    const [pred, schema, paths, ...rest] = a.args
    const bad = (at: Pos, message: string): never => {
      throw new DatalogError("syntax", message, at)
    }
    const usage = `:load_aspect(/name, "schema urn", ["path", …])`
    if (rest.length > 0 || paths === undefined) bad(t.pos, `${usage} takes three arguments`)
    if (pred!.kind !== "const" || !(pred!.value instanceof Name)) bad(pred!.pos, `the first argument of ${usage} is a /name`)
    if (schema!.kind !== "const" || typeof schema!.value !== "string") bad(schema!.pos, `the second argument of ${usage} is a schema string`)
    if (paths!.kind !== "const" || !Array.isArray(paths!.value) || paths!.value.length === 0) {
      bad(paths!.pos, `the third argument of ${usage} is a non-empty list of path strings`)
    }
    const list = (paths as { value: ReadonlyArray<Value> }).value
    if (!list.every((p) => typeof p === "string")) bad(paths!.pos, `the paths of ${usage} are strings`)
    const name = ((pred as { value: Name }).value).name.slice(1)
    if (!/^[a-z][A-Za-z0-9_]*$/.test(name)) bad(pred!.pos, `'/${name}' cannot be a predicate name (lower case letters, digits, _)`)
    return {
      pred: name,
      schema: (schema as { value: string }).value,
      paths: (list as ReadonlyArray<string>).map((path) => ({ path, pos: paths!.pos })),
      pos: t.pos
    }
  }

  const clauses: Array<Clause> = []
  const loads: Array<LoadAspect> = []
  while (peek().kind !== "eof") {
    const t = peek()
    if (t.kind === "var" && (t.text === "Decl" || t.text === "Package" || t.text === "Use")) {
      fail(t, `'${t.text}' declarations are not supported by the emulator`)
    }
    if (isPunct(t, ":-") || isPunct(t, "⟸")) {
      next()
      const b = body()
      expect(".", "',' or '.' (the end of the query)")
      clauses.push({ head: undefined, body: b, pos: t.pos })
      continue
    }
    const head = atom()
    if (head.pred === ":load_aspect") {
      loads.push(loadAspect(t, head))
      expect(".", "'.' after :load_aspect(…)")
      continue
    }
    if (head.pred.startsWith(":")) fail(t, `'${head.pred}' is a built-in and cannot be defined`)
    const sep = next()
    if (isPunct(sep, ".")) {
      clauses.push({ head, body: [], pos: t.pos })
      continue
    }
    if (!isPunct(sep, ":-") && !isPunct(sep, "⟸")) {
      const u = unsupported(sep)
      fail(sep, u ?? `expected ':-' or '.' after the head ${head.pred}(…) but found ${describe(sep)}`)
    }
    const b = body()
    expect(".", "',' or '.' (the end of the rule)")
    clauses.push({ head, body: b, pos: t.pos })
  }
  return { clauses, loads }
}
