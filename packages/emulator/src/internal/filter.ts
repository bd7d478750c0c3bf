/**
 * The `filter` query parameter: a small, documented subset of the OData-like language IVCAP accepts (its grammar
 * is not published; `name ~= 'x%'` is what the clients send **(inferred: `~=` is a LIKE match with `%`)**).
 *
 *   expr       := term ( "or" term )*
 *   term       := factor ( "and" factor )*
 *   factor     := "not" factor | "(" expr ")" | comparison
 *   comparison := field op literal
 *   op         := "~=" (LIKE, `%` = any run of characters, case-sensitive) | "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
 *   literal    := 'single quoted' ('' escapes a quote) | "double quoted" | number | true | false
 *
 * Field names accept `-` or `_` (`created-at` = `created_at`); unknown fields are rejected.
 */

export type FieldValue = string | number | boolean | undefined

/** A compiled filter. */
export type Predicate<R> = (rec: R) => boolean

/** A filter that does not parse (the message names the position). */
export class FilterError {
  constructor(readonly message: string) {}
}

type Token =
  | { readonly k: "id"; readonly v: string; readonly pos: number }
  | { readonly k: "str"; readonly v: string; readonly pos: number }
  | { readonly k: "num"; readonly v: number; readonly pos: number }
  | { readonly k: "op"; readonly v: string; readonly pos: number }
  | { readonly k: "("; readonly pos: number }
  | { readonly k: ")"; readonly pos: number }

const tokenize = (src: string): Array<Token> => {
  const out: Array<Token> = []
  let i = 0
  while (i < src.length) {
    const c = src[i]!
    if (/\s/.test(c)) {
      i++
    } else if (c === "(" || c === ")") {
      out.push({ k: c, pos: i })
      i++
    } else if (c === "'" || c === "\"") {
      let j = i + 1
      let v = ""
      for (;;) {
        if (j >= src.length) throw new FilterError(`unterminated string starting at position ${i}`)
        if (src[j] === c) {
          if (src[j + 1] === c) {
            v += c
            j += 2
            continue
          }
          break
        }
        v += src[j]
        j++
      }
      out.push({ k: "str", v, pos: i })
      i = j + 1
    } else if (/[0-9]/.test(c) || (c === "-" && /[0-9]/.test(src[i + 1] ?? ""))) {
      const m = /^-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(src.slice(i))!
      out.push({ k: "num", v: Number(m[0]), pos: i })
      i += m[0].length
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(src.slice(i))!
      out.push({ k: "id", v: m[0], pos: i })
      i += m[0].length
    } else {
      const m = /^(~=|==|!=|<>|<=|>=|=|<|>)/.exec(src.slice(i))
      if (m === null) throw new FilterError(`unexpected character '${c}' at position ${i}`)
      out.push({ k: "op", v: m[0], pos: i })
      i += m[0].length
    }
  }
  return out
}

/** SQL LIKE with `%` as the only wildcard. */
export const likeToRegExp = (pattern: string): RegExp =>
  new RegExp(`^${pattern.split("%").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`, "s")

const compare = (op: string, a: FieldValue, b: string | number | boolean): boolean => {
  if (a === undefined) return op === "!=" || op === "<>"
  if (op === "~=") return typeof a === "string" && typeof b === "string" && likeToRegExp(b).test(a)
  if (typeof a === "number" && typeof b === "string" && b.trim() !== "" && !Number.isNaN(Number(b))) b = Number(b)
  if (typeof a === "boolean" && typeof b === "string") b = b === "true" ? true : b === "false" ? false : b
  if (typeof a !== typeof b) return op === "!=" || op === "<>"
  switch (op) {
    case "=":
    case "==":
      return a === b
    case "!=":
    case "<>":
      return a !== b
    case "<":
      return a < b
    case "<=":
      return a <= b
    case ">":
      return a > b
    case ">=":
      return a >= b
  }
  return false
}

/**
 * Compiles a filter for records whose fields are read by `fields` (keys with `_`).
 * Throws `FilterError` with a message naming the position of the problem.
 */
export const compileFilter = <R>(
  src: string,
  fields: Record<string, (rec: R) => FieldValue>
): Predicate<R> => {
  const tokens = tokenize(src)
  let i = 0
  const peek = () => tokens[i]
  const isWord = (t: Token | undefined, w: string) => t?.k === "id" && t.v.toLowerCase() === w
  const expr = (): Predicate<R> => {
    let left = term()
    while (isWord(peek(), "or")) {
      i++
      const l = left
      const r = term()
      left = (rec) => l(rec) || r(rec)
    }
    return left
  }
  const term = (): Predicate<R> => {
    let left = factor()
    while (isWord(peek(), "and")) {
      i++
      const l = left
      const r = factor()
      left = (rec) => l(rec) && r(rec)
    }
    return left
  }
  const factor = (): Predicate<R> => {
    const t = peek()
    if (t === undefined) throw new FilterError("unexpected end of filter")
    if (isWord(t, "not")) {
      i++
      const f = factor()
      return (rec) => !f(rec)
    }
    if (t.k === "(") {
      i++
      const e = expr()
      if (peek()?.k !== ")") throw new FilterError(`expected ')' at position ${peek()?.pos ?? src.length}`)
      i++
      return e
    }
    if (t.k !== "id") throw new FilterError(`expected a field name at position ${t.pos}`)
    const key = t.v.replace(/-/g, "_").toLowerCase()
    const get = fields[key]
    if (get === undefined) {
      throw new FilterError(`unknown field '${t.v}' (supported: ${Object.keys(fields).join(", ")})`)
    }
    i++
    const op = peek()
    if (op?.k !== "op") throw new FilterError(`expected an operator after '${t.v}'`)
    i++
    const lit = peek()
    let value: string | number | boolean
    if (lit?.k === "str" || lit?.k === "num") value = lit.v
    else if (isWord(lit, "true")) value = true
    else if (isWord(lit, "false")) value = false
    else if (lit?.k === "id") {
      throw new FilterError(`expected a literal after '${op.v}' at position ${lit.pos}: quote text, as in ${t.v}${op.v}'${lit.v}'`)
    } else throw new FilterError(`expected a literal after '${op.v}' at position ${lit?.pos ?? src.length}`)
    i++
    if (op.v === "~=" && typeof value !== "string") throw new FilterError("'~=' needs a quoted pattern")
    const v = value
    return (rec) => compare(op.v, get(rec), v)
  }
  if (tokens.length === 0) return () => true
  const p = expr()
  if (i < tokens.length) throw new FilterError(`unexpected '${src.slice(tokens[i]!.pos)}' at position ${tokens[i]!.pos}`)
  return p
}
