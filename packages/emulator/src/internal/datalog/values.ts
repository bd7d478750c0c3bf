/** Interned values (facts are arrays of small integers) and relations with lazily built hash indexes. */
import { Name, type Value } from "./ast.js"

/** A stable JSON text (keys sorted) for structural equality of JSON values. */
export const canonicalJson = (v: unknown): string => {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null"
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`
  const o = v as Record<string, unknown>
  return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(",")}}`
}

/** Maps values to dense integer ids (equal values, equal ids). */
export class Interner {
  private readonly values: Array<Value> = []
  private readonly strings = new Map<string, number>()
  private readonly numbers = new Map<number, number>()
  private readonly others = new Map<string, number>()

  private add(v: Value): number {
    if (this.values.length >= 67_108_864) throw new RangeError("too many distinct values")
    this.values.push(v)
    return this.values.length - 1
  }

  /** The id of a value. */
  id(v: Value): number {
    if (typeof v === "string") {
      let id = this.strings.get(v)
      if (id === undefined) this.strings.set(v, id = this.add(v))
      return id
    }
    if (typeof v === "number") {
      let id = this.numbers.get(v)
      if (id === undefined) this.numbers.set(v, id = this.add(v))
      return id
    }
    const key = typeof v === "boolean" ? (v ? "t" : "f") : v instanceof Name ? v.name : `j${canonicalJson(v)}`
    let id = this.others.get(key)
    if (id === undefined) this.others.set(key, id = this.add(v))
    return id
  }

  /** The value of an id. */
  value(id: number): Value {
    return this.values[id]!
  }

  /** How many distinct values. */
  get size(): number {
    return this.values.length
  }
}

/** A fact: the ids of its arguments. */
export type Tuple = ReadonlyArray<number>

/** A hash key: a number for one or two ids (ids stay below 2^26), a string beyond. */
export type Key = number | string

/** The key of a list of ids (also used for index keys, see {@link project}). */
export const keyOfIds = (t: ReadonlyArray<number>): Key =>
  t.length === 1 ? t[0]! : t.length === 2 ? t[0]! * 67_108_864 + t[1]! : t.join(",")

const keyOf = keyOfIds

/** A set of facts of one arity, with hash indexes on the bound positions a join asks for (a bit mask). */
export class Relation {
  readonly tuples: Array<Tuple> = []
  private readonly keys = new Set<Key>()
  private readonly indexes = new Map<number, Map<Key, Array<Tuple>>>()

  constructor(readonly arity: number) {}

  get size(): number {
    return this.tuples.length
  }

  has(t: Tuple): boolean {
    return this.keys.has(keyOf(t))
  }

  /** Adds a fact; false when it was there. */
  add(t: Tuple): boolean {
    const k = keyOf(t)
    if (this.keys.has(k)) return false
    this.keys.add(k)
    this.tuples.push(t)
    for (const [mask, index] of this.indexes) insert(index, project(t, mask), t)
    return true
  }

  /** The facts whose positions in `mask` hold the ids `key` (from {@link project}); all facts for mask 0. */
  lookup(mask: number, key: Key): ReadonlyArray<Tuple> {
    if (mask === 0) return this.tuples
    let index = this.indexes.get(mask)
    if (index === undefined) {
      index = new Map()
      for (const t of this.tuples) insert(index, project(t, mask), t)
      this.indexes.set(mask, index)
    }
    return index.get(key) ?? empty
  }
}

const empty: ReadonlyArray<Tuple> = []

const insert = (index: Map<Key, Array<Tuple>>, key: Key, t: Tuple) => {
  const list = index.get(key)
  if (list === undefined) index.set(key, [t])
  else list.push(t)
}

/** The index key of a fact's positions in `mask`. */
export const project = (t: Tuple, mask: number): Key => {
  const ids: Array<number> = []
  for (let i = 0; i < t.length; i++) if ((mask & (1 << i)) !== 0) ids.push(t[i]!)
  return keyOfIds(ids)
}
