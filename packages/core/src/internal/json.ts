/**
 * JSON content both ways. Reading: a JSON object schema that keeps the parsed object as it is (never copies it key
 * by key), so a `"__proto__"` key from the wire stays an own property and never becomes the prototype. Writing: a
 * serialiser that turns everything `JSON.stringify` would throw on, or silently change, into an `InvalidArgument`
 * naming the field.
 */
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { InvalidArgument } from "../IvcapError.js"

const isPlainObject = (u: unknown): u is { readonly [key: string]: unknown } => {
  if (typeof u !== "object" || u === null || Array.isArray(u)) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/**
 * A JSON object, decoded without copying: the object `JSON.parse` made is the value, so every key — `__proto__`
 * included — is an own property, and the prototype is never one the wire chose.
 */
export const JsonObject: Schema.Schema<{ readonly [key: string]: unknown }> = Schema.declare(isPlainObject, {
  identifier: "JsonObject",
  description: "a JSON object",
  arbitrary: () => (fc) => fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 })
})

/** The deepest nesting of content the SDK sends (objects and arrays); the emulator refuses deeper content too. */
export const maxDepth = 256

class Refused {
  constructor(readonly path: string, readonly reason: string) {}
}

const pathOf = (path: ReadonlyArray<string | number>): string => {
  let out = ""
  for (const p of path.length > 12 ? [...path.slice(0, 5), "…", ...path.slice(-5)] : path) {
    out += typeof p === "number" ? `[${p}]` : p === "…" ? ".…" : /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`
  }
  return out
}

const refusedKinds: ReadonlyArray<readonly [(u: object) => boolean, string]> = [
  [(u) => u instanceof Map, "a Map is not JSON (it would be sent as {}); convert it with Object.fromEntries"],
  [(u) => u instanceof Set, "a Set is not JSON (it would be sent as {}); convert it to an array"],
  [(u) => u instanceof WeakMap || u instanceof WeakSet, "a WeakMap/WeakSet is not JSON"],
  [(u) => u instanceof RegExp, "a RegExp is not JSON (it would be sent as {})"],
  [(u) => u instanceof ArrayBuffer || ArrayBuffer.isView(u), "binary data is not JSON; upload it as an artifact"],
  [(u) => u instanceof Promise, "a Promise is not JSON"]
]

/**
 * Serialises `value` as JSON, refusing what JSON cannot carry faithfully: BigInt, functions, symbols, NaN and
 * ±Infinity, `undefined` in arrays, Map/Set/RegExp/binary, cycles, nesting deeper than {@link maxDepth}, and
 * `toJSON` methods or getters that throw. `undefined` object properties are left out (as JSON does); objects with a
 * `toJSON` (a `Date`) are sent as what it returns. The error names the field (`content.a[2].b`).
 */
export const serialise = (value: unknown, argument: string): Either.Either<string, InvalidArgument> => {
  const ancestors = new Set<object>()
  const path: Array<string | number> = []
  const refuse = (reason: string): never => {
    throw new Refused(pathOf(path), reason)
  }
  const guarded = <A>(what: string, f: () => A): A => {
    try {
      return f()
    } catch (e) {
      if (e instanceof Refused) throw e
      return refuse(`${what} threw: ${e instanceof Error ? e.message : String(e)}`)
    }
  }
  const write = (v: unknown, depth: number, inArray: boolean, replaced = false): string | undefined => {
    switch (typeof v) {
      case "string":
      case "boolean":
        return JSON.stringify(v)
      case "number":
        return Number.isFinite(v) ? JSON.stringify(v) : refuse(`${v} is not a JSON number (it would be sent as null)`)
      case "bigint":
        return refuse("a BigInt is not JSON; convert it to a string or a number")
      case "function":
        return refuse("a function is not JSON")
      case "symbol":
        return refuse("a symbol is not JSON")
      case "undefined":
        return inArray ? refuse("undefined in an array is not JSON (it would be sent as null)") : undefined
    }
    if (v === null) return "null"
    const obj = v as object
    // as JSON.stringify: toJSON is called once, not on what it returns
    const toJSON = replaced ? undefined : guarded("reading toJSON", () => (obj as { toJSON?: unknown }).toJSON)
    if (typeof toJSON === "function") {
      const result = guarded("toJSON", () => (toJSON as (key: string) => unknown).call(obj, String(path[path.length - 1] ?? "")))
      return write(result, depth, inArray, true)
    }
    for (const [test, reason] of refusedKinds) if (test(obj)) refuse(reason)
    if (depth >= maxDepth) refuse(`nested deeper than ${maxDepth} levels`)
    if (ancestors.has(obj)) refuse("a circular reference is not JSON")
    ancestors.add(obj)
    let out: string
    if (Array.isArray(obj)) {
      const parts: Array<string> = []
      const length = obj.length
      for (let i = 0; i < length; i++) {
        path.push(i)
        parts.push(write(guarded("reading the element", () => obj[i]), depth + 1, true)!)
        path.pop()
      }
      out = `[${parts.join(",")}]`
    } else {
      const parts: Array<string> = []
      for (const key of Object.keys(obj)) {
        path.push(key)
        const item = write(guarded("its getter", () => (obj as Record<string, unknown>)[key]), depth + 1, false)
        if (item !== undefined) parts.push(`${JSON.stringify(key)}:${item}`)
        path.pop()
      }
      out = `{${parts.join(",")}}`
    }
    ancestors.delete(obj)
    return out
  }
  try {
    return Either.right(write(value, 0, false) ?? "null")
  } catch (e) {
    if (e instanceof Refused) {
      const field = `${argument}${e.path}`
      return Either.left(new InvalidArgument({ argument: field, message: `${field}: ${e.reason}` }))
    }
    // e.g. a Proxy whose traps throw on key enumeration
    return Either.left(new InvalidArgument({ argument, message: `${argument} cannot be serialised: ${String(e)}` }))
  }
}
