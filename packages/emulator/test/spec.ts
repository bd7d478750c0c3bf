/**
 * Validation of responses against the OpenAPI specs (byte-identical copies in `fixtures/`: v0.41, the seed's, and
 * v0.48, the newest), with ajv.
 *
 * Two deliberate adjustments, both because the spec contradicts its own examples and the wire facts (wire doc §1):
 *   - `format: uuid` on ids: IVCAP ids are URNs (`urn:ivcap:service:<uuid>`, spec examples), so the format is
 *     checked as "an IVCAP URN ending in a UUID".
 *   - `format: binary` (search items) carries no constraint for JSON; and search items are any JSON (the v0.44+
 *     specs drop `type: string`; the seed client passes items through as they are, HEAD docs: objects of bindings).
 */
import { Ajv, type ValidateFunction } from "ajv"
import * as formatsModule from "ajv-formats"
import type { FormatsPlugin } from "ajv-formats"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import { expect } from "vitest"
import { call } from "./helpers.js"

const here = path.dirname(fileURLToPath(import.meta.url))

interface Spec {
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>>
  components: { schemas: Record<string, object> }
}

const moduleValue = formatsModule as unknown as { default?: unknown }
const addFormats = (
  typeof moduleValue.default === "function" ? moduleValue.default : (moduleValue.default as { default: unknown }).default
) as FormatsPlugin

/** The checks of one spec file (a byte-identical copy in `fixtures/`). */
export interface SpecChecks {
  /** The validator of a component schema (`ServiceListRT`, …). */
  readonly schemaValidator: (name: string) => ValidateFunction
  /** Asserts `body` is valid against component schema `name`. */
  readonly expectSchema: (name: string, body: unknown) => void
  /**
   * Asserts that `status`/`body` is a response the spec declares for `method path` (a spec path template), and that
   * the body is valid against the declared schema (or absent when the spec declares no content).
   */
  readonly expectDeclared: (method: string, template: string, status: number, body: unknown, text: string) => void
}

/** Loads `fixtures/<file>` and builds its ajv checks (with the two adjustments above). */
export const specChecks = (file: string): SpecChecks => {
  const spec = JSON.parse(fs.readFileSync(path.join(here, "fixtures", file), "utf8")) as Spec
  // search items: any JSON (see above)
  const search = spec.components.schemas["SearchListRT"] as { properties?: { items?: { items?: object } } } | undefined
  if (search?.properties?.items !== undefined) search.properties.items.items = {}
  const ajv = new Ajv({ strict: false, allErrors: true })
  addFormats(ajv)
  ajv.addFormat("uuid", /^urn:ivcap:[a-z]+:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  ajv.addFormat("binary", true)
  ajv.addSchema(spec as object, "ivcap")
  const validators = new Map<string, ValidateFunction>()
  const schemaValidator = (name: string): ValidateFunction => {
    let v = validators.get(name)
    if (v === undefined) {
      v = ajv.getSchema(`ivcap#/components/schemas/${name}`)
      if (v === undefined) throw new Error(`no schema ${name}`)
      validators.set(name, v)
    }
    return v
  }
  const expectSchema = (name: string, body: unknown): void => {
    const v = schemaValidator(name)
    const ok = v(body)
    expect(ok ? [] : v.errors?.map((e) => `${e.instancePath} ${e.message}`), `valid ${name}`).toEqual([])
  }
  const expectDeclared = (method: string, template: string, status: number, body: unknown, text: string) => {
    const op = spec.paths[template]?.[method.toLowerCase()]
    expect(op, `${method} ${template} is in the spec`).toBeDefined()
    const declared = op!.responses[String(status)]
    expect(declared, `${method} ${template} declares ${status}`).toBeDefined()
    const schema = declared!.content?.["application/json"]?.schema as { $ref?: string } | undefined
    if (schema === undefined) {
      expect(text, `${method} ${template} ${status} has no body`).toBe("")
      return
    }
    const name = schema.$ref?.replace("#/components/schemas/", "")
    if (name !== undefined) expectSchema(name, body)
  }
  return { schemaValidator, expectSchema, expectDeclared }
}

const v041 = specChecks("ivcap-openapi-v0.41.0-seed.json")

/** The validator of a v0.41 component schema (`ServiceListRT`, …). */
export const schemaValidator = v041.schemaValidator

/** Asserts `body` is valid against v0.41 component schema `name`. */
export const expectSchema = v041.expectSchema

/** {@link SpecChecks.expectDeclared} for the v0.41 spec. */
export const expectDeclared = v041.expectDeclared

/** The checks of the v0.48 spec (`/1/secrets`, `/1/services2`, jobs). */
export const v048 = specChecks("ivcap-openapi-v0.48-ivcap-docs-2026-05.json")

/**
 * Calls `path` (with `method`) and checks the answer is one the v0.48 spec declares for `method template`, and that
 * its body keeps the wire conventions.
 */
export const hitV048 = (
  method: string,
  template: string,
  path: string,
  init: RequestInit & { readonly auth?: boolean } = {}
) =>
  Effect.gen(function*() {
    const r = yield* call(path, { ...init, method })
    v048.expectDeclared(method, template, r.status, r.body, r.text)
    if (r.body !== undefined) expectWireConventions(r.body)
    return r
  })

/** The §1.1 keys the official client requires (stricter than the spec in places). */
export const requiredKeys: Record<string, ReadonlyArray<string>> = {
  ServiceListRT: ["at-time", "items", "links"],
  ServiceListItem: ["account", "href", "id"],
  ServiceStatusRT: ["account", "id", "links", "parameters", "status"],
  ParameterDefT: ["description", "name", "type"],
  OrderListRT: ["at-time", "items", "links"],
  OrderListItem: ["account", "href", "id", "service", "status"],
  OrderStatusRT: ["account", "id", "links", "parameters", "products", "service", "status"],
  PartialProductListT: ["items", "links"],
  ProductListItemT: ["href", "id", "status"],
  ArtifactListRT: ["items", "links"],
  ArtifactListItem: ["created-at", "href", "id", "status"],
  ArtifactStatusRT: ["id", "links", "status"],
  AspectIDRT: ["id"],
  AspectListRT: ["at-time", "items", "links"],
  AspectListItemRT: ["content-type", "entity", "id", "schema"],
  AspectRT: ["asserter", "content", "content-type", "entity", "id", "links", "schema", "valid-from"],
  SearchListRT: ["at-time", "items", "links"],
  LinkT: ["rel", "type", "href"]
}

/** Asserts the §1.1 required keys of `model` are present. */
export const expectKeys = (model: string, value: unknown): void => {
  expect(value).toBeTypeOf("object")
  const keys = Object.keys(value as object)
  for (const k of requiredKeys[model]!) expect(keys, `${model} has '${k}'`).toContain(k)
}

const rfc3339Millis = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const timeKeys = new Set([
  "at-time",
  "published-at",
  "ordered-at",
  "started-at",
  "finished-at",
  "created-at",
  "last-modified-at",
  "valid-from",
  "valid-to"
])

/**
 * Walks a body: no `null` anywhere (optional keys are omitted), every time RFC 3339 with milliseconds and `Z`, every
 * link with `rel`, `type` and `href`. Aspect `content` is user data and is not walked.
 */
export const expectWireConventions = (value: unknown, where = "$"): void => {
  expect(value, `${where} is not null`).not.toBeNull()
  if (Array.isArray(value)) {
    value.forEach((v, i) => expectWireConventions(v, `${where}[${i}]`))
    return
  }
  if (typeof value !== "object" || value === null) return
  for (const [k, v] of Object.entries(value)) {
    if (timeKeys.has(k)) expect(v, `${where}.${k}`).toMatch(rfc3339Millis)
    if (k === "links") for (const l of v as Array<unknown>) expectKeys("LinkT", l)
    if (k !== "content") expectWireConventions(v, `${where}.${k}`)
  }
}
