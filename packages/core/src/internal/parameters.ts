/**
 * Order parameters checked against a service's parameter definitions (wire doc §11.1), before any request.
 * Fixes the Python client's quirks (§11.2): the wire gets the service's own names (a `_` alias of a `-` name is
 * accepted, as the Python kwargs were) and every value as a string.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { InvalidParameter } from "../IvcapError.js"
import type { ParameterDef } from "../Service.js"
import { ArtifactUrn } from "../Urn.js"

/** What a caller may give as a parameter value. */
export type ParameterValue = string | number | boolean

/** One parameter as sent (`ParameterT`). */
export interface WireParameter {
  readonly name: string
  readonly value: string
}

const show = (value: unknown): string => (typeof value === "string" ? JSON.stringify(value) : String(value))

const integer = /^[+-]?\d+$/
const decimal = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/
const isArtifactUrn = Schema.is(ArtifactUrn)
const isUrl = /^(urn:)?https?:\/\/[^\s]+$/

/** The wire string of `value` for a parameter of `def`'s type, or why it is not one. */
const wireValue = (def: ParameterDef, value: unknown): Either.Either<string, string> => {
  switch (def.type) {
    case "string":
      return typeof value === "string" ? Either.right(value) : Either.left("expected a string")
    case "int":
      if (typeof value === "number") {
        if (Number.isSafeInteger(value)) return Either.right(String(value))
        // a number past 2^53 has lost digits already: pass it as a string of digits
        return Either.left(Number.isInteger(value) ? "expected a safe integer (beyond ±2^53 pass the digits as a string)" : "expected an integer")
      }
      return typeof value === "string" && integer.test(value.trim()) ? Either.right(value.trim()) : Either.left("expected an integer")
    case "float":
      if (typeof value === "number") return Number.isFinite(value) ? Either.right(String(value)) : Either.left("expected a finite number")
      return typeof value === "string" && decimal.test(value.trim()) ? Either.right(value.trim()) : Either.left("expected a number")
    case "bool":
      if (typeof value === "boolean") return Either.right(String(value))
      return value === "true" || value === "false" ? Either.right(value) : Either.left("expected a boolean (or \"true\"/\"false\")")
    case "option": {
      const allowed = (def.options ?? []).map((o) => o.value)
      const text = typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? String(value) : undefined
      if (text === undefined) return Either.left("expected one of the options")
      // A definition without options cannot be checked here: the server decides.
      return allowed.length === 0 || allowed.includes(text)
        ? Either.right(text)
        : Either.left(`expected one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}`)
    }
    case "artifact":
      return typeof value === "string" && (isArtifactUrn(value) || isUrl.test(value))
        ? Either.right(value)
        : Either.left("expected an artifact URN (urn:ivcap:artifact:…) or an http(s) URL")
    case "collection":
      return typeof value === "string" && /^urn:\S+$/.test(value) ? Either.right(value) : Either.left("expected a collection URN (urn:…)")
    default:
      // A type from a newer server that this SDK does not know: any scalar, sent as its string; the server decides.
      return typeof value === "string" || typeof value === "number" || typeof value === "boolean"
        ? Either.right(String(value))
        : Either.left("expected a string, number or boolean")
  }
}

/**
 * Checks `values` against `defs` and returns the parameters to send, in the order given. Unknown names,
 * repeated names (`a-b` and `a_b`), wrongly-typed values, values outside an option's list, changed constants and
 * missing mandatory parameters are each an `InvalidParameter` naming the parameter (and value).
 */
export const checkParameters = (
  defs: ReadonlyArray<ParameterDef>,
  values: Readonly<Record<string, ParameterValue | undefined>>
): Effect.Effect<ReadonlyArray<WireParameter>, InvalidParameter> =>
  Effect.gen(function*() {
    const byName = new Map(defs.map((d) => [d.name, d] as const))
    const byAlias = new Map(defs.map((d) => [d.name.replace(/-/g, "_"), d] as const))
    const given = new Map<string, string>()
    const out: Array<WireParameter> = []
    for (const [key, value] of Object.entries(values)) {
      if (value === undefined) continue
      const def = byName.get(key) ?? byAlias.get(key)
      if (def === undefined) {
        const known = defs.map((d) => `'${d.name}'`).join(", ")
        return yield* new InvalidParameter({
          name: key,
          value: show(value),
          message: `unknown parameter '${key}'; this service takes ${known === "" ? "no parameters" : known}`
        })
      }
      const earlier = given.get(def.name)
      if (earlier !== undefined) {
        return yield* new InvalidParameter({ name: def.name, value: show(value), message: `parameter '${def.name}' given twice (as '${earlier}' and '${key}')` })
      }
      given.set(def.name, key)
      const wire = wireValue(def, value)
      if (Either.isLeft(wire)) {
        return yield* new InvalidParameter({ name: def.name, value: show(value), message: `parameter '${def.name}' (${def.type}): ${wire.left}, got ${show(value)}` })
      }
      if (def.constant === true && def.default !== undefined && wire.right !== def.default) {
        return yield* new InvalidParameter({
          name: def.name,
          value: show(value),
          message: `parameter '${def.name}' is a constant (${JSON.stringify(def.default)}) and cannot be changed`
        })
      }
      out.push({ name: def.name, value: wire.right })
    }
    const missing = defs.filter((d) => !d.isOptional && !given.has(d.name)).map((d) => d.name)
    if (missing.length > 0) {
      return yield* new InvalidParameter({
        name: missing[0]!,
        message: `missing mandatory parameter${missing.length > 1 ? "s" : ""} ${missing.map((n) => `'${n}'`).join(", ")}`
      })
    }
    return out
  })
