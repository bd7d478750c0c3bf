/**
 * Job inputs checked against a service's tool request schema (JSON Schema) before anything is sent.
 *
 * Validator: `@cfworker/json-schema` — no code generation (`new Function`), so it runs under a strict CSP and in
 * workers, has no dependencies and is a fraction of ajv's size in a browser bundle (BENCHMARKS.md has the
 * numbers); it covers drafts 4, 7, 2019-09 and 2020-12, which is what pydantic (the Python service SDK) emits.
 */
import { type Schema as CfSchema, type SchemaDraft, type ValidationResult, Validator } from "@cfworker/json-schema"
import * as Effect from "effect/Effect"
import { DecodeError, InvalidParameter } from "../IvcapError.js"

/** The draft a schema declares with `$schema`; 2020-12 when it declares none (pydantic's dialect). */
const draftOf = (schema: Record<string, unknown>): SchemaDraft => {
  const declared = typeof schema["$schema"] === "string" ? schema["$schema"] : ""
  if (declared.includes("draft-04")) return "4"
  if (declared.includes("draft-06") || declared.includes("draft-07")) return "7"
  if (declared.includes("2019-09")) return "2019-09"
  return "2020-12"
}

/** Keywords whose errors only say that something below failed: the error below names the field. */
const wrappers: ReadonlySet<string> = new Set([
  "properties",
  "patternProperties",
  "additionalProperties",
  "unevaluatedProperties",
  "items",
  "prefixItems",
  "additionalItems",
  "unevaluatedItems",
  "contains",
  "allOf",
  "$ref",
  "$recursiveRef",
  "$dynamicRef",
  "dependentSchemas",
  "if",
  "then",
  "else"
])

/** A JSON pointer fragment (`#/a/0/b`) as a dotted path (`a.0.b`). */
const pathOf = (instanceLocation: string): ReadonlyArray<string> =>
  instanceLocation.replace(/^#\/?/, "").split("/").filter((s) => s !== "").map((s) => decodeURIComponent(s).replace(/~1/g, "/").replace(/~0/g, "~"))

const valueAt = (input: unknown, path: ReadonlyArray<string>): unknown =>
  path.reduce<unknown>((v, key) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[key] : undefined), input)

const show = (value: unknown): string | undefined => {
  if (value === undefined) return undefined
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}

/** The most telling problem of a failed validation, as an `InvalidParameter` naming the field. */
const toError = (input: unknown, result: ValidationResult): InvalidParameter => {
  const leaves = result.errors.filter((e) => !wrappers.has(e.keyword))
  const first = leaves[0] ?? result.errors[0]
  if (first === undefined) return new InvalidParameter({ name: "(input)", message: "input does not match the service's request schema" })
  let path = pathOf(first.instanceLocation)
  let message = first.error
  if (first.keyword === "required") {
    const missing = /required property "(.*)"/.exec(first.error)?.[1]
    if (missing !== undefined) {
      path = [...path, missing]
      message = "is required"
    }
  } else if (first.keyword === "false") {
    // `additionalProperties: false` (or a `false` subschema): the field itself is not allowed
    message = "is not allowed by the request schema"
  }
  const name = path.length === 0 ? "(input)" : path.join(".")
  const others = leaves.length - 1
  const value = first.keyword === "required" ? undefined : show(valueAt(input, path))
  return new InvalidParameter({
    name,
    message: `${name}: ${message}${others > 0 ? ` (and ${others} more problem${others > 1 ? "s" : ""})` : ""}`,
    ...(value === undefined ? {} : { value })
  })
}

/**
 * The schema itself cannot be used (a `pattern` that is no regular expression, a `$ref` that loops or points
 * nowhere, nesting too deep, …): the service's fault, not the input's.
 */
const unusable = (e: unknown): DecodeError => {
  const reason = e instanceof Error ? e.message : String(e)
  return new DecodeError({
    message: `the service's request schema cannot be used: ${reason.length > 300 ? `${reason.slice(0, 300)}…` : reason}`,
    cause: e
  })
}

/**
 * A checker for inputs against `schema`, built once (the validator dereferences the schema up front): a valid input
 * succeeds, any other fails with an `InvalidParameter` whose `name` is the offending field's dotted path
 * (`region`, `options.depth`, `items.2`) and whose `message` says what is wrong. A schema the validator cannot use
 * fails every check with a `DecodeError` saying so (never a defect).
 */
export const makeChecker = (schema: Record<string, unknown>): (input: unknown) => Effect.Effect<void, InvalidParameter | DecodeError> => {
  let validator: Validator
  try {
    validator = new Validator(schema as CfSchema, draftOf(schema), false)
  } catch (e) {
    const error = unusable(e)
    return () => Effect.fail(error)
  }
  return (input) =>
    Effect.suspend((): Effect.Effect<void, InvalidParameter | DecodeError> => {
      let result: ValidationResult
      try {
        result = validator.validate(input)
      } catch (e) {
        return Effect.fail(unusable(e))
      }
      return result.valid ? Effect.void : Effect.fail(toError(input, result))
    })
}
