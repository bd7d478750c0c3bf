/**
 * internal/fastDecode against Effect's own decoder: on every Schema the SDK exports (records, typed errors, pages),
 * with inputs made from values generated for each schema, encoded to the wire, and then broken key by key, the fast
 * decoder must either give exactly what `Schema.decodeUnknown(schema, { onExcessProperty: "ignore" })` gives, say
 * `rejected` only when that decoder fails, or say `unsure`. And it must be sure about what the SDK decodes most.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Core from "@ivcap/core"
import * as Arbitrary from "effect/Arbitrary"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as FastCheck from "effect/FastCheck"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as FastDecode from "../src/internal/fastDecode.js"
import { PageSchema } from "../src/internal/paging.js"

const real = (schema: Schema.Schema.AnyNoContext) => {
  const decode = ParseResult.decodeUnknownEither(schema, { onExcessProperty: "ignore" })
  return (input: unknown) => decode(input)
}

interface Tally {
  decoded: number
  rejected: number
  unsure: number
}

/** Compares the two decoders on `input`; returns which way the fast one answered. */
const compare = (schema: Schema.Schema.AnyNoContext, input: unknown, tally: Tally, what: string) => {
  const fast = FastDecode.compile(schema.ast)(structuredClone(input))
  const expected = real(schema)(structuredClone(input))
  if (fast === FastDecode.unsure) {
    tally.unsure++
  } else if (fast === FastDecode.rejected) {
    tally.rejected++
    expect(Either.isLeft(expected), `${what}: rejected, but the schema decodes ${JSON.stringify(input)}`).toBe(true)
  } else {
    tally.decoded++
    expect(Either.isRight(expected), `${what}: decoded, but the schema rejects ${JSON.stringify(input)}`).toBe(true)
    expect(fast, `${what}: ${JSON.stringify(input)}`).toStrictEqual(Either.getOrThrow(expected))
  }
}

const replacements: ReadonlyArray<unknown> = [null, 7, -1.5, "", "x", true, [], {}, "2026-13-45T99:00:00Z", "urn:ivcap:aspect:"]

/** Every path to a value inside `input`, at most `depth` deep (array paths only through their first element). */
const pathsOf = (input: unknown, depth = 3, prefix: ReadonlyArray<string | number> = []): Array<ReadonlyArray<string | number>> => {
  if (depth === 0 || typeof input !== "object" || input === null) return []
  const keys: Array<string | number> = Array.isArray(input) ? (input.length > 0 ? [0] : []) : Object.keys(input)
  return keys.flatMap((k) => [[...prefix, k], ...pathsOf((input as Record<string | number, unknown>)[k], depth - 1, [...prefix, k])])
}

/** `input` with the value at `path` replaced (`undefined` deletes it). */
const withAt = (input: unknown, path: ReadonlyArray<string | number>, value: unknown): unknown => {
  const copy = structuredClone(input)
  let at = copy as Record<string | number, unknown>
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>
  const last = path[path.length - 1]!
  if (value === undefined && !Array.isArray(at)) delete at[last]
  else at[last] = value
  return copy
}

/** Wire inputs for `schema`: generated values, encoded, and each broken at every path in turn. */
const inputsFor = (schema: Schema.Schema.AnyNoContext, samples: number): Array<unknown> => {
  const arbitrary = Arbitrary.make(schema)
  const encode = Schema.encodeUnknownEither(schema)
  const valid = FastCheck.sample(arbitrary, { numRuns: samples, seed: 20261202 }).flatMap((value) => {
    const e = encode(value)
    return Either.isRight(e) ? [JSON.parse(JSON.stringify(e.right)) as unknown] : []
  })
  const broken = valid.slice(0, 6).flatMap((input) =>
    pathsOf(input).slice(0, 40).flatMap((path) => [undefined, ...replacements].map((r) => withAt(input, path, r)))
  )
  return [...valid, ...broken, null, [], "x", 1, { unexpected: true }]
}

/** Every Schema exported by the SDK's modules, by name. */
const exported = (): Array<readonly [string, Schema.Schema.AnyNoContext]> =>
  Object.entries(Core).flatMap(([module, exports]) =>
    Object.entries(exports as Record<string, unknown>).flatMap(([name, value]) =>
      Schema.isSchema(value) ? [[`${module}.${name}`, value as Schema.Schema.AnyNoContext] as const] : []
    )
  )

describe("fastDecode", () => {
  it("agrees with Schema.decodeUnknown on every exported schema, valid and broken inputs", () => {
    const checked: Array<string> = []
    const sure: Record<string, Tally> = {}
    for (const [name, schema] of exported()) {
      let inputs: Array<unknown>
      try {
        inputs = inputsFor(schema, 12)
      } catch {
        continue // no Arbitrary for this schema (a declaration without one)
      }
      const tally: Tally = { decoded: 0, rejected: 0, unsure: 0 }
      for (const input of inputs) compare(schema, input, tally, name)
      checked.push(name)
      sure[name] = tally
    }
    // The records the SDK lists and reads most are all among them, and the fast path decodes them itself.
    for (const name of ["Aspect.AspectSummary", "Aspect.AspectRecord", "Artifact.ArtifactSummary", "Service.ServiceSummary", "Order.OrderSummary", "Job.JobSummary", "Job.JobDetails", "Paging.Link"]) {
      expect(checked).toContain(name)
      expect(sure[name]!.decoded, name).toBeGreaterThan(0)
      expect(sure[name]!.rejected, name).toBeGreaterThan(0)
    }
    expect(checked.length).toBeGreaterThan(25)
  })

  it("is sure about a listed page of aspects, as the emulator sends it", () => {
    const page = PageSchema(Core.Aspect.AspectSummary)
    const item = (i: number) => ({
      id: `urn:ivcap:aspect:00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      entity: "urn:ivcap:entity:x",
      schema: "urn:ivcap:schema:test.1",
      content: { $schema: "urn:ivcap:schema:test.1", index: i, ["__proto__"]: { polluted: true } },
      "content-type": "application/json",
      "valid-from": "2026-12-02T06:30:22.427Z",
      ...(i % 2 === 0 ? { "valid-to": "2026-12-03T00:00:00Z" } : {})
    })
    const wire = JSON.parse(JSON.stringify({
      "at-time": "2026-12-02T06:31:58.963Z",
      items: Array.from({ length: 50 }, (_, i) => item(i)),
      links: [{ rel: "next", type: "application/json", href: "https://x/1/aspects?page=abc" }]
    }))
    const tally: Tally = { decoded: 0, rejected: 0, unsure: 0 }
    compare(page, wire, tally, "page")
    expect(tally.decoded).toBe(1)
    const decoded = FastDecode.compile(page.ast)(wire) as typeof page.Type
    expect(decoded.items[0]).toBeInstanceOf(Core.Aspect.AspectSummary)
    expect(decoded.items[0]!.isRetracted).toBe(true)
    // JSON content is the parsed object itself: `__proto__` stays an own key, never the prototype.
    expect(Object.getPrototypeOf(decoded.items[1]!.content)).toBe(Object.prototype)
    expect(Object.keys(decoded.items[1]!.content!)).toContain("__proto__")
    for (const [path, value] of [[["items", 3, "id"], "urn:ivcap:artifact:x"], [["items", 49, "valid-from"], "yesterday"], [["links", 0, "rel"], 1], [["at-time"], 5]] as const) {
      compare(page, withAt(wire, path, value), tally, `page with ${path.join(".")} = ${value}`)
    }
    expect(tally.rejected).toBe(4)
  })

  it("a union is decoded only when exactly one member accepts the input", () => {
    const tally: Tally = { decoded: 0, rejected: 0, unsure: 0 }
    const either = Schema.Union(Schema.NumberFromString, Schema.String)
    // Both members accept "1", with different values: which one wins is ParseResult's to say.
    expect(FastDecode.compile(either.ast)("1")).toBe(FastDecode.unsure)
    compare(either, "1", tally, "NumberFromString | String")
    expect(Either.getOrThrow(real(either)("1"))).toBe(1)
    const literals = Schema.Union(Schema.Literal("a", "b"), Schema.Number, Schema.Undefined)
    for (const input of ["a", "b", "c", 3, undefined, null]) compare(literals, input, tally, "literals")
    expect(tally).toStrictEqual({ decoded: 4, rejected: 2, unsure: 1 })
  })

  it("leaves to the schema's decoder what it does not know: effects, records, recursion, parse options", () => {
    class Lookup extends Context.Tag("Lookup")<Lookup, string>() {}
    const effectful = Schema.transformOrFail(Schema.String, Schema.String, {
      decode: (s) => Effect.map(Effect.succeed(s), (x) => x.toUpperCase()),
      encode: ParseResult.succeed
    })
    expect(FastDecode.compile(effectful.ast)("a")).toBe(FastDecode.unsure)
    const needsService = Schema.transformOrFail(Schema.String, Schema.String, { decode: () => Lookup, encode: ParseResult.succeed })
    expect(FastDecode.compile(needsService.ast)("a")).toBe(FastDecode.unsure)

    const tally: Tally = { decoded: 0, rejected: 0, unsure: 0 }
    const record = Schema.Record({ key: Schema.String, value: Schema.NumberFromString })
    for (const input of [{ a: "1" }, { a: "x" }, []]) compare(record, input, tally, "record")
    interface Tree {
      readonly value: number
      readonly children: ReadonlyArray<Tree>
    }
    const Tree: Schema.Schema<Tree> = Schema.Struct({ value: Schema.Number, children: Schema.Array(Schema.suspend(() => Tree)) })
    for (const input of [{ value: 1, children: [{ value: 2, children: [] }] }, { value: 1, children: [{ value: "2", children: [] }] }]) {
      compare(Tree, input, tally, "tree")
    }
    const strict = Schema.Struct({ a: Schema.Number }).annotations({ parseOptions: { onExcessProperty: "error" } })
    for (const input of [{ a: 1 }, { a: 1, b: 2 }]) compare(strict, input, tally, "parseOptions")
    expect(tally.decoded).toBe(3)
    expect(tally.rejected + tally.unsure).toBe(4)
  })
})
