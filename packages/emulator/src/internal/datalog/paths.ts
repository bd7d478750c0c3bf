/**
 * The paths of `:load_aspect(/name, "schema", [paths…])` (the syntax of the spec's example, wire doc §9):
 *
 * - a record field, without a leading dot: `entity`, `id`, `schema`, `asserter`, `policy`, `valid-from`,
 *   `valid-to`;
 * - a path into the content, starting with `.` (or `$.`): `.key` steps (also `["key"]`), `[*]` (every element of
 *   an array: one row each), `[n]` (one element), and a last step `.a|b|c` that gives several columns from the same
 *   object (`.parameters[*].name|value`: one row per parameter, two columns). `.` alone is the whole content.
 *
 * An aspect gives the cross product of its paths' rows; a path that finds nothing (a missing key, `null`) gives
 * no row, so the aspect gives no fact.
 */
import { DatalogError, type Pos, type Value } from "./ast.js"

/** What a path reads from: an aspect record (times in epoch millis). */
export interface AspectView {
  readonly id: string
  readonly entity: string
  readonly schema: string
  readonly content: Record<string, unknown>
  readonly asserter: string
  readonly policy?: string | undefined
  readonly validFrom: number
  readonly validTo?: number | undefined
}

/** A compiled path: how many columns it gives and its rows for an aspect. */
export interface CompiledPath {
  readonly columns: number
  readonly rows: (a: AspectView) => Array<Array<Value>>
}

const fields: Record<string, (a: AspectView) => string | undefined> = {
  entity: (a) => a.entity,
  id: (a) => a.id,
  schema: (a) => a.schema,
  asserter: (a) => a.asserter,
  policy: (a) => a.policy,
  "valid-from": (a) => new Date(a.validFrom).toISOString(),
  "valid-to": (a) => (a.validTo === undefined ? undefined : new Date(a.validTo).toISOString())
}

type Step = { readonly k: "key"; readonly key: string } | { readonly k: "all" } | { readonly k: "at"; readonly i: number }

/** JSON scalars and containers as fact values (`null` is no value). */
export const toValue = (v: unknown): Value | undefined =>
  v === null || v === undefined ? undefined : (v as Value)

/** Compiles one path; `pos` is where its string is in the query. */
export const compilePath = (path: string, pos: Pos): CompiledPath => {
  const bad = (message: string): never => {
    throw new DatalogError("semantic", `bad path "${path}": ${message}`, pos)
  }
  const field = fields[path]
  if (field !== undefined) {
    return {
      columns: 1,
      rows: (a) => {
        const v = field(a)
        return v === undefined ? [] : [[v]]
      }
    }
  }
  let src = path.startsWith("$.") ? path.slice(1) : path === "$" ? "." : path
  if (!src.startsWith(".") && !src.startsWith("[")) {
    bad(`a content path starts with '.' (e.g. ".name"); record fields are ${Object.keys(fields).join(", ")}`)
  }
  const steps: Array<Step> = []
  let last: Array<string> | undefined
  const key = /^[A-Za-z0-9_$@-]+/
  while (src.length > 0) {
    if (src === ".") break
    if (src.startsWith("[*]")) {
      steps.push({ k: "all" })
      src = src.slice(3)
    } else if (/^\[\d+\]/.test(src)) {
      const m = /^\[(\d+)\]/.exec(src)!
      steps.push({ k: "at", i: Number(m[1]) })
      src = src.slice(m[0].length)
    } else if (/^\["[^"]*"\]/.test(src)) {
      const m = /^\["([^"]*)"\]/.exec(src)!
      steps.push({ k: "key", key: m[1]! })
      src = src.slice(m[0].length)
    } else if (src.startsWith(".")) {
      const m = key.exec(src.slice(1))
      if (m === null) bad(`expected a key after '.' at "${src}"`)
      const alts = [m![0]]
      let rest = src.slice(1 + m![0].length)
      while (rest.startsWith("|")) {
        const n = key.exec(rest.slice(1))
        if (n === null) bad(`expected a key after '|' at "${rest}"`)
        alts.push(n![0])
        rest = rest.slice(1 + n![0].length)
      }
      if (alts.length > 1) {
        if (rest !== "") bad(`'a|b' picks several keys and must be the last step (at "${rest}")`)
        last = alts
      } else {
        steps.push({ k: "key", key: alts[0]! })
      }
      src = rest
    } else {
      bad(`unexpected "${src}" (steps are .key, ["key"], [*], [n], and a last .a|b)`)
    }
  }
  const walk = (v: unknown, i: number, out: Array<unknown>): void => {
    if (v === null || v === undefined) return
    if (i === steps.length) {
      out.push(v)
      return
    }
    const s = steps[i]!
    if (s.k === "key") {
      if (typeof v === "object" && !Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, s.key)) {
        walk((v as Record<string, unknown>)[s.key], i + 1, out)
      }
    } else if (Array.isArray(v)) {
      if (s.k === "all") for (const e of v) walk(e, i + 1, out)
      else if (s.i < v.length) walk(v[s.i], i + 1, out)
    }
  }
  return {
    columns: last?.length ?? 1,
    rows: (a) => {
      const found: Array<unknown> = []
      walk(a.content, 0, found)
      const rows: Array<Array<Value>> = []
      for (const v of found) {
        if (last === undefined) {
          rows.push([v as Value])
          continue
        }
        if (typeof v !== "object" || v === null || Array.isArray(v)) continue
        const row: Array<Value> = []
        for (const k of last) {
          const x = Object.prototype.hasOwnProperty.call(v, k) ? toValue((v as Record<string, unknown>)[k]) : undefined
          if (x === undefined) break
          row.push(x)
        }
        if (row.length === last.length) rows.push(row)
      }
      return rows
    }
  }
}

/** Every row an aspect gives for a list of paths (their cross product). */
export const projectAspect = (paths: ReadonlyArray<CompiledPath>, a: AspectView): Array<Array<Value>> => {
  let acc: Array<Array<Value>> = [[]]
  for (const p of paths) {
    const rows = p.rows(a)
    if (rows.length === 0) return []
    const next: Array<Array<Value>> = []
    for (const left of acc) for (const r of rows) next.push([...left, ...r])
    acc = next
  }
  return acc
}
