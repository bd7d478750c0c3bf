/**
 * Bad input from users: every id-taking operation with malformed URNs, bad policies, schema names, collection URNs,
 * content, parameter values, paths that are not readable files, page sizes and chunk sizes out of range, a bad base
 * URL. Each must end in the specific typed error naming the argument BEFORE any request: the emulator's request
 * counter stays 0 (parameter values, which need the service's definitions, allow exactly that one read and no
 * POST). The cases are generated from tables; the figures go to `build/reliability/bad-input.json`.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import type * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { expect, layer } from "@effect/vitest"
import { Artifact, Aspect, Download, IvcapClient, Order, Search, Service, Upload, UploadSource } from "@ivcap/core"
import type { Emulator } from "@ivcap/emulator"
import { SeedData } from "@ivcap/emulator"
import * as NodeTransfer from "@ivcap/node/NodeTransfer"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import * as H from "./harness.js"

type Env = IvcapClient.IvcapClient | Emulator.Emulator | FileSystem.FileSystem | Path.Path | Scope.Scope

/** One bad input: the call, and the error it must fail with (and the argument it must name). */
interface Case {
  readonly input: string
  readonly run: Effect.Effect<unknown, unknown, Env>
  readonly tag: string
  readonly argument?: string
}

/** The outcome of one case, as written to the summary. */
interface Result {
  readonly group: string
  readonly operation: string
  readonly input: string
  readonly expected: string
  readonly observed: string
  readonly argument?: string
  readonly requests: number
  readonly posts: number
  readonly message: string
}

const results: Array<Result> = []

const drain = <A, E, R>(stream: Stream.Stream<A, E, R>) => Stream.runDrain(stream)

/**
 * Runs the cases of one operation: each must fail with its tag (naming its argument) and reach the server at most
 * `allowedRequests` times, never with a POST.
 */
const check = (group: string, operation: string, cases: ReadonlyArray<Case>, allowedRequests = 0) =>
  H.observed(Effect.gen(function*() {
    for (const c of cases) {
      yield* H.forget
      const exit = yield* H.exitOf(c.run)
      const requests = yield* H.count()
      const posts = yield* H.count({ method: "POST" })
      const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
      const argument = typeof error === "object" && error !== null && "argument" in error ? String(error.argument) : undefined
      const parameter = typeof error === "object" && error !== null && "name" in error && H.outcomeOf(exit) === "InvalidParameter" ? String(error.name) : undefined
      const named = argument ?? parameter
      const result: Result = {
        group,
        operation,
        input: c.input,
        expected: c.tag,
        observed: H.outcomeOf(exit),
        ...(named !== undefined ? { argument: named } : {}),
        requests,
        posts,
        message: error instanceof Error ? error.message : Exit.isFailure(exit) ? Cause.pretty(exit.cause).split("\n")[0]! : "succeeded"
      }
      results.push(result)
      const label = `${operation}(${c.input})`
      expect(result.observed, `${label}: ${result.message}`).toBe(c.tag)
      if (c.argument !== undefined) expect(result.argument, label).toBe(c.argument)
      expect(result.message.length, label).toBeGreaterThan(10)
      expect(requests, `${label}: requests before the error`).toBeLessThanOrEqual(allowedRequests)
      expect(posts, label).toBe(0)
    }
  }))

// ---------------------------------------------------------------------------------------------------------------
// malformed ids

/** Values that are not a `urn:ivcap:<kind>:<id>`: wrong kind, empty, path tricks, query, fragment, spaces, escapes. */
const badIds = (kind: string): ReadonlyArray<string> => [
  "",
  "not-a-urn",
  `urn:ivcap:${kind === "order" ? "service" : "order"}:0f6e3a2c-1111-4444-8888-123456789abc`,
  `urn:ivcap:${kind}:`,
  `urn:ivcap:${kind}:a/b`,
  `urn:ivcap:${kind}:../../1/services`,
  "../x",
  `urn:ivcap:${kind}:%2e%2e`,
  `urn:ivcap:${kind}:x?limit=1`,
  `urn:ivcap:${kind}:x#top`,
  ` urn:ivcap:${kind}:x`,
  `urn:ivcap:${kind}:x y`,
  `URN:IVCAP:${kind.toUpperCase()}:x`
]

const content = { $schema: "urn:reliability:schema:note.1", note: "x" }
const bytes = UploadSource.fromBytes(new Uint8Array(16))

/** Every operation that takes an id, by the kind of URN it takes. */
const idOperations: ReadonlyArray<readonly [string, string, (id: string) => Effect.Effect<unknown, unknown, Env>]> = [
  ["Service.get", "service", Service.get],
  ["Service.status", "service", Service.status],
  ["Service.parameters", "service", Service.parameters],
  ["Service.mandatoryParameters", "service", Service.mandatoryParameters],
  ["Order.place", "service", (id) => Order.place(id, { msg: "x" })],
  ["Order.get", "order", Order.get],
  ["Order.status", "order", Order.status],
  ["Order.waitFor", "order", (id) => Order.waitFor(id)],
  ["Order.products", "order", (id) => drain(Order.products(id))],
  ["Order.metadata", "order", (id) => drain(Order.metadata(id))],
  ["Order.addMetadata", "order", (id) => Order.addMetadata(id, content)],
  ["Artifact.get", "artifact", Artifact.get],
  ["Artifact.status", "artifact", Artifact.status],
  ["Artifact.metadata", "artifact", (id) => drain(Artifact.metadata(id))],
  ["Artifact.addMetadata", "artifact", (id) => Artifact.addMetadata(id, content)],
  ["Upload.resume", "artifact", (id) => Upload.resume(id, bytes)],
  ["Download.stream", "artifact", (id) => drain(Download.stream(id))],
  ["Download.toBlob", "artifact", (id) => Download.toBlob(id)],
  ["NodeTransfer.downloadToFile", "artifact", (id) => Effect.flatMap(H.tempDir, (dir) => NodeTransfer.downloadToFile(id, path.join(dir, "out.bin")))],
  ["Aspect.get", "aspect", Aspect.get],
  ["Aspect.retract", "aspect", Aspect.retract]
]

/** Values that are not a URN at all (entities and schemas may be any URN). */
const badUrns: ReadonlyArray<string> = ["", "entity-1", "urn:", "urn:x", "urn::x", "urn:x:a b", "urn:x:a/b", "urn:x:a?b=c", "urn:x:a#b", "http://example.com/x"]

const entityOperations: ReadonlyArray<readonly [string, (entity: string) => Effect.Effect<unknown, unknown, Env>]> = [
  ["Aspect.add", (entity) => Aspect.add(entity, content)],
  ["Aspect.update", (entity) => Aspect.update(entity, content)],
  ["Aspect.list", (entity) => drain(Aspect.list({ entity }))]
]

// ---------------------------------------------------------------------------------------------------------------
// other arguments

const badPolicies: ReadonlyArray<string> = ["", "open", "urn:ivcap:policy:", "urn:ivcap:artifact:0f6e3a2c", "urn:ivcap:policy:a/b", "urn:ivcap:policy:a b"]

const policyOperations: ReadonlyArray<readonly [string, (policy: string) => Effect.Effect<unknown, unknown, Env>]> = [
  ["Order.place", (policy) => Order.place(SeedData.helloWorld.id, { msg: "x" }, { policy })],
  ["Aspect.add", (policy) => Aspect.add(SeedData.readmeArtifact.id, content, { policy })],
  ["Aspect.update", (policy) => Aspect.update(SeedData.readmeArtifact.id, content, { policy })],
  ["Upload.create", (policy) => Upload.create({ policy })],
  ["Upload.upload", (policy) => Upload.upload(bytes, { policy })]
]

const entity = SeedData.readmeArtifact.id
const schemaCases: ReadonlyArray<Case> = [
  { input: "no schema at all", run: Aspect.add(entity, { note: "x" }), tag: "InvalidArgument", argument: "schema" },
  { input: "schema ''", run: Aspect.add(entity, { note: "x" }, { schema: "" }), tag: "InvalidArgument", argument: "schema" },
  { input: "schema 'note-v1'", run: Aspect.add(entity, { note: "x" }, { schema: "note-v1" }), tag: "InvalidArgument", argument: "schema" },
  { input: "schema 'urn:x:a b'", run: Aspect.add(entity, { note: "x" }, { schema: "urn:x:a b" }), tag: "InvalidArgument", argument: "schema" },
  { input: "$schema 42", run: Aspect.add(entity, { $schema: 42 }), tag: "InvalidArgument", argument: "content" },
  { input: "schema ≠ $schema", run: Aspect.add(entity, content, { schema: "urn:reliability:schema:other.1" }), tag: "InvalidArgument", argument: "schema" },
  { input: "$entity ≠ entity", run: Aspect.add(entity, { ...content, $entity: "urn:x:other" }), tag: "InvalidArgument", argument: "entity" },
  { input: "Aspect.update: schema 'note-v1'", run: Aspect.update(entity, { note: "x" }, { schema: "note-v1" }), tag: "InvalidArgument", argument: "schema" },
  { input: "Aspect.list: schema ''", run: drain(Aspect.list({ schema: "" })), tag: "InvalidArgument", argument: "schema" },
  { input: "Aspect.list: schema '  '", run: drain(Aspect.list({ schema: "  " })), tag: "InvalidArgument", argument: "schema" }
]

const contentCases: ReadonlyArray<Case> = ([["array", [1, 2]], ["string", "note"], ["null", null], ["number", 7], ["undefined", undefined]] as const).map(
  ([name, value]) => ({ input: name, run: Aspect.add(entity, value, { schema: content.$schema }), tag: "InvalidArgument", argument: "content" })
)

const collectionCases: ReadonlyArray<Case> = ["", "collection-1", "urn:x", "urn:x:a/b", "urn:x:a b"].flatMap((collection) => [
  { input: `Upload.create collection ${JSON.stringify(collection)}`, run: Upload.create({ collection }), tag: "InvalidArgument", argument: "collection" },
  { input: `Upload.upload collection ${JSON.stringify(collection)}`, run: Upload.upload(bytes, { collection }), tag: "InvalidArgument", argument: "collection" }
])

/** Parameter values against the seeded service covering all seven types (its definitions are read first). */
const rich = SeedData.richService.id
const parameterCases: ReadonlyArray<Case & { readonly parameter: string }> = ([
  ["threshold 'abc' (float)", "threshold", { region: "r", threshold: "abc" }],
  ["threshold Infinity (float)", "threshold", { region: "r", threshold: Number.POSITIVE_INFINITY }],
  ["max-iterations 1.5 (int)", "max-iterations", { region: "r", "max-iterations": 1.5 }],
  ["max-iterations '10x' (int)", "max-iterations", { region: "r", "max-iterations": "10x" }],
  ["use-satellite 'yes' (bool)", "use-satellite", { region: "r", "use-satellite": "yes" }],
  ["model 'fast' (option)", "model", { region: "r", model: "fast" }],
  ["boundary 'boundary.geojson' (artifact)", "boundary", { region: "r", boundary: "boundary.geojson" }],
  ["weather-stations 'stations' (collection)", "weather-stations", { region: "r", "weather-stations": "stations" }],
  ["api-version '3' (constant)", "api-version", { region: "r", "api-version": "3" }],
  ["region 42 (string)", "region", { region: 42 }],
  ["unknown 'colour'", "colour", { region: "r", colour: "red" }],
  ["missing 'region'", "region", { threshold: 3 }],
  ["max-iterations and max_iterations", "max-iterations", { region: "r", "max-iterations": 1, max_iterations: 2 }]
] as const).map(([input, parameter, values]) => ({ input, parameter, run: Order.place(rich, values), tag: "InvalidParameter", argument: parameter }))

const badPageSizes: ReadonlyArray<number> = [-1, 0, 1.5, 51, 1e9, Number.NaN, Number.POSITIVE_INFINITY]

const pageSizeOperations: ReadonlyArray<readonly [string, (pageSize: number) => Effect.Effect<unknown, unknown, Env>]> = [
  ["Service.list", (pageSize) => drain(Service.list({ pageSize }))],
  ["Service.page", (pageSize) => Service.page({ pageSize })],
  ["Order.list", (pageSize) => drain(Order.list({ pageSize }))],
  ["Order.products", (pageSize) => drain(Order.products("urn:ivcap:order:0f6e3a2c-1111-4444-8888-123456789abc", { pageSize }))],
  ["Artifact.list", (pageSize) => drain(Artifact.list({ pageSize }))],
  ["Aspect.list", (pageSize) => drain(Aspect.list({ pageSize }))],
  ["Artifact.metadata", (pageSize) => drain(Artifact.metadata(SeedData.readmeArtifact.id, { pageSize }))],
  ["Search.search", (pageSize) => drain(Search.search("q(X) :- aspect(X).", { pageSize }))]
]

const badChunkSizes: ReadonlyArray<number> = [0, -1, 1.5, 1024, Number.NaN, Number.POSITIVE_INFINITY]

/** Paths that are not a readable regular file (tests run as root, so permissions would not stop a read). */
const badPaths = Effect.gen(function*() {
  const dir = yield* H.tempDir
  const missing = path.join(dir, "missing.bin")
  const folder = path.join(dir, "folder")
  const fifo = path.join(dir, "pipe")
  const broken = path.join(dir, "broken-link")
  fs.mkdirSync(folder)
  execFileSync("mkfifo", [fifo])
  fs.symlinkSync(path.join(dir, "nowhere"), broken)
  return [["a missing file", missing], ["a folder", folder], ["a FIFO", fifo], ["a broken symlink", broken]] as const
})

// ---------------------------------------------------------------------------------------------------------------

layer(H.layer())("bad input: a typed error before any request", (it) => {
  for (const [operation, kind, run] of idOperations) {
    it.effect(`${operation}: malformed ${kind} URNs`, () =>
      check("malformed URN", operation, badIds(kind).map((id) => ({ input: JSON.stringify(id), run: run(id), tag: "InvalidArgument", argument: "id" })).map((c) =>
        operation === "Order.place" ? { ...c, argument: "serviceId" } : c
      )))
  }

  for (const [operation, run] of entityOperations) {
    it.effect(`${operation}: malformed entity URNs`, () =>
      check("malformed URN", operation, badUrns.map((urn) => ({ input: JSON.stringify(urn), run: run(urn), tag: "InvalidArgument", argument: "entity" }))))
  }

  for (const [operation, run] of policyOperations) {
    it.effect(`${operation}: malformed policies`, () =>
      check("policy", operation, badPolicies.map((policy) => ({ input: JSON.stringify(policy), run: run(policy), tag: "InvalidArgument", argument: "policy" }))))
  }

  it.effect("Aspect.add / update / list: bad schema names", () => check("schema name", "Aspect", schemaCases))
  it.effect("Aspect.add: content that is not a JSON object", () => check("content", "Aspect.add", contentCases))
  it.effect("Upload.create / upload: malformed collection URNs", () => check("collection URN", "Upload", collectionCases))

  it.effect("Order.place: bad parameter values — only the service's definitions are read, nothing is placed", () =>
    // the client's one API-version probe first, so that the count is the service read alone
    Effect.zipRight(Service.apiVersion, check("parameter value", "Order.place", parameterCases, 1)))

  for (const [operation, run] of pageSizeOperations) {
    it.effect(`${operation}: page sizes out of 1..50`, () =>
      check("page size", operation, badPageSizes.map((size) => ({ input: String(size), run: run(size), tag: "InvalidArgument", argument: "pageSize" }))))
  }

  it.effect("Upload: chunk sizes and sizes out of range", () =>
    check("chunk size", "Upload", [
      ...badChunkSizes.map((chunkSize) => ({ input: `upload chunkSize ${chunkSize}`, run: Upload.upload(bytes, { chunkSize }), tag: "InvalidArgument", argument: "chunkSize" })),
      ...badChunkSizes.map((chunkSize) => ({ input: `resume chunkSize ${chunkSize}`, run: Upload.resume(SeedData.readmeArtifact.id, bytes, { chunkSize }), tag: "InvalidArgument", argument: "chunkSize" })),
      ...[-5, 1.5, Number.NaN].map((size) => ({ input: `create size ${size}`, run: Upload.create({ size }), tag: "InvalidArgument", argument: "size" }))
    ]))

  it.effect("files: a folder, a missing file, a FIFO, a broken symlink", () =>
    Effect.gen(function*() {
      const paths = yield* badPaths
      yield* check("path", "UploadSource.fromFile", paths.map(([input, file]) => ({ input, run: UploadSource.fromFile(file), tag: "SourceError" })))
      yield* check("path", "NodeTransfer.uploadFile", paths.map(([input, file]) => ({ input, run: NodeTransfer.uploadFile(file), tag: "SourceError" })))
      yield* check("path", "NodeTransfer.uploadFile (force)", paths.map(([input, file]) => ({ input, run: NodeTransfer.uploadFile(file, { force: true }), tag: "SourceError" })))
    }).pipe(Effect.scoped))

  it.effect("names, queries and the client's URL", () =>
    check("other", "various", [
      { input: "Service.getByName('')", run: Service.getByName(""), tag: "InvalidArgument", argument: "name" },
      { input: "Service.getByName('   ')", run: Service.getByName("   "), tag: "InvalidArgument", argument: "name" },
      { input: "Search.search('')", run: drain(Search.search("")), tag: "InvalidArgument", argument: "query" },
      { input: "Search.search('  ')", run: drain(Search.search("  ")), tag: "InvalidArgument", argument: "query" },
      ...["ftp://example.com", "not a url", "http://127.0.0.1:1/?x=1", "http://127.0.0.1:1/#f", ""].map((url) => ({
        input: `IvcapClient.layer url ${JSON.stringify(url)}`,
        run: Effect.provide(Service.get(SeedData.helloWorld.id), IvcapClient.layer({ url, token: H.token }).pipe(Layer.provide(NodeHttpClient.layerUndici))),
        tag: "ConfigError"
      }))
    ]))

  it.effect("summary: every case a typed error before any request; nothing leaked", () =>
    H.observed(Effect.gen(function*() {
      const leaks = H.leaks()
      const groups = [...new Set(results.map((r) => r.group))]
      yield* H.writeSummary("bad-input", {
        results,
        totals: {
          cases: results.length,
          asExpected: results.filter((r) => r.observed === r.expected).length,
          beforeAnyRequest: results.filter((r) => r.requests === 0).length,
          posts: results.reduce((n, r) => n + r.posts, 0),
          byGroup: Object.fromEntries(groups.map((g) => [g, results.filter((r) => r.group === g).length])),
          leaks: leaks.length,
          capture: H.captureCounts()
        }
      })
      expect(results.length).toBeGreaterThan(300)
      expect(results.every((r) => r.observed === r.expected)).toBe(true)
      expect(leaks).toEqual([])
    })))
})
