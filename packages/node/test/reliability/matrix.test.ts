/**
 * The fault matrix: every operation × every fault the emulator can inject, over real HTTP. The table `expected`
 * below is the specification — one row per operation, one column per fault — and each cell is a test that injects
 * the fault into the operation's request, runs the operation and checks the EXACT outcome: `ok` (and the result is
 * right: lists with no duplicate or missing item, uploaded/downloaded bytes with the right sha-256), or the typed
 * error's `_tag`. Every cell also checks that no POST reached the server more than once and that no second record
 * was created. The observed outcome and figures of each cell go to `build/reliability/matrix.json`.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import type * as Path from "@effect/platform/Path"
import { expect, layer } from "@effect/vitest"
import { Artifact, Aspect, Download, IvcapClient, Order, Service, Upload, UploadSource } from "@ivcap/core"
import { Emulator, Faults, SeedData } from "@ivcap/emulator"
import * as NodeTransfer from "@ivcap/node/NodeTransfer"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as path from "node:path"
import * as H from "./harness.js"

type Json = Record<string, unknown>

/** What a successful operation returned, checked against what it should have returned. */
interface Verdict {
  readonly correct: boolean
  readonly detail: string
  /** Lists: items delivered twice, and expected items not delivered. */
  readonly duplicates?: number
  readonly missing?: number
}

/** Everything an operation needs at run time. */
type Env = IvcapClient.IvcapClient | Emulator.Emulator | FileSystem.FileSystem | Path.Path

/** A prepared operation: run it (after the fault is injected) and judge its result. */
interface Prepared {
  readonly run: Effect.Effect<Verdict, unknown, Env>
  /** Records the operation created (orders, aspects, artifacts), counted again after the run. */
  readonly records?: Effect.Effect<number, unknown, Env>
  /** A problem left behind (e.g. a partial file), checked after success and failure alike. */
  readonly leftovers?: Effect.Effect<string | undefined, never, Env>
  /** Lists: whether the items delivered before a failure are exactly the clean listing's first pages (and how many). */
  readonly delivered?: () => { readonly count: number; readonly prefix: boolean }
}

/** JSON rewrites of a response: drop a required key, null an optional one, an enum value the SDK does not know. */
interface JsonFaults {
  readonly missingKey: JsonFault
  readonly nullOptional?: JsonFault
  readonly unknownEnum?: JsonFault
}

/** A rewrite of a JSON body, and the wire field a decode error must name. */
interface JsonFault {
  readonly field: string
  readonly f: (json: Json) => unknown
}

interface Row {
  readonly name: string
  readonly kind: "list" | "read" | "write" | "upload" | "download"
  /** The request every fault hits: method and path (RegExp on the percent-decoded pathname). */
  readonly target: { readonly method: string; readonly path: RegExp }
  /** Target requests let through before the fault fires (page 2, the second PATCH). */
  readonly skip: number
  /** Response bytes sent before a mid-response reset; request bytes read before a mid-request-body reset. */
  readonly cutResponseAt: number
  readonly cutRequestAt: number
  /** JSON rewrites of the target's response, where it has one. */
  readonly json?: JsonFaults | undefined
  /** Text the `url` of every error carrying one must contain (the whole request URL, query included). */
  readonly errorUrl?: string
  /** Builds the data the operation needs (no fault yet) and returns it ready to run. */
  readonly prepare: (column: string) => Effect.Effect<Prepared, unknown, Env | Scope.Scope>
}

// ---------------------------------------------------------------------------------------------------------------
// operations

const pageSize = 5
const hello = SeedData.helloWorld.id
const listEntity = "urn:ivcap:entity:reliability-list"
const noteSchema = "urn:reliability:schema:note.1"
const KiB = 1024
const uploadOptions = { chunkSize: 256 * KiB, retry: H.quickResume }

const idsOf = <A extends { readonly id: string }>(stream: Stream.Stream<A, unknown, Env>) =>
  Effect.map(Stream.runCollect(stream), (c) => Chunk.toReadonlyArray(c).map((a) => a.id))

/** A list judged against the clean listing (or, with an empty first page, the clean listing after it). */
const judgeList = (got: ReadonlyArray<string>, want: ReadonlyArray<string>): Verdict => {
  const wanted = new Set(want)
  const duplicates = got.length - new Set(got).size
  const missing = want.filter((id) => !got.includes(id)).length
  const extra = got.filter((id) => !wanted.has(id)).length
  const correct = duplicates === 0 && missing === 0 && extra === 0 && got.every((id, i) => id === want[i])
  return { correct, duplicates, missing, detail: `${got.length} items (want ${want.length}), ${duplicates} duplicated, ${missing} missing, ${extra} unexpected` }
}

const listRow = (name: string, path: RegExp, list: Stream.Stream<{ readonly id: string }, unknown, Env>, json: Row["json"], setup: Effect.Effect<unknown, unknown, Env>): Row => ({
  name,
  kind: "list",
  target: { method: "GET", path },
  skip: 1,
  cutResponseAt: 200,
  cutRequestAt: 0,
  json,
  prepare: (column) =>
    Effect.gen(function*() {
      yield* setup
      const clean = yield* idsOf(list)
      const want = column === "empty page + next" ? clean.slice(pageSize) : clean
      const seen: Array<string> = []
      return {
        run: Effect.map(idsOf(Stream.tap(list, (item) => Effect.sync(() => seen.push(item.id)))), (got) => judgeList(got, want)),
        delivered: () => ({ count: seen.length, prefix: seen.every((id, i) => id === clean[i]) })
      }
    })
})

/** The first item of a page without `key` (or with `key` set to `value`). */
const firstItem = (key: string, value?: null): JsonFault => ({
  field: `items.0.${key}`,
  f: (json) => {
    const [first, ...rest] = json["items"] as Array<Json>
    const { [key]: _dropped, ...others } = first!
    return { ...json, items: [value === undefined ? others : { ...others, [key]: value }, ...rest] }
  }
})
const set = (key: string, value: unknown): JsonFault => ({ field: key, f: (json) => ({ ...json, [key]: value }) })
const without = (key: string): JsonFault => ({
  field: key,
  f: (json) => {
    const { [key]: _dropped, ...rest } = json
    return rest
  }
})

const readRow = <A>(name: string, path: RegExp, read: Effect.Effect<A, unknown, Env>, check: (a: A) => boolean, json: Row["json"]): Row => ({
  name,
  kind: "read",
  target: { method: "GET", path },
  skip: 0,
  cutResponseAt: 20,
  cutRequestAt: 0,
  json,
  prepare: () => Effect.succeed({ run: Effect.map(read, (a) => ({ correct: check(a), detail: "record read" })) })
})

const writeRow = <A>(
  name: string,
  path: RegExp,
  write: Effect.Effect<A, unknown, Env>,
  check: (a: A) => boolean,
  records: Effect.Effect<number, unknown, Env>,
  json: Row["json"],
  errorUrl?: string
): Row => ({
  name,
  ...(errorUrl !== undefined ? { errorUrl } : {}),
  kind: "write",
  target: { method: "POST", path },
  skip: 0,
  cutResponseAt: 20,
  cutRequestAt: 10,
  json,
  prepare: () => Effect.succeed({ run: Effect.map(write, (a) => ({ correct: check(a), detail: "written" })), records })
})

/** Uploads `bytes` (no fault) and returns the ready record: what the download rows read. */
const uploaded = (bytes: Uint8Array) => Upload.upload(UploadSource.fromBytes(bytes, { name: "content.bin" }), uploadOptions)

const judgeBytes = (got: string, want: string): Verdict => ({ correct: got === want, detail: got === want ? "sha-256 equal" : `sha-256 ${got}, want ${want}` })

const artifactCount = Stream.runCount(Artifact.list())

const rows: ReadonlyArray<Row> = [
  listRow("Service.list", /^\/1\/services2?$/, Service.list({ pageSize }), {
    missingKey: firstItem("href"),
    nullOptional: firstItem("description", null)
  }, Effect.void),
  listRow(
    "Aspect.list",
    /^\/1\/aspects$/,
    Aspect.list({ entity: listEntity, pageSize }),
    {
      missingKey: firstItem("content-type"),
      nullOptional: firstItem("valid-to", null)
    },
    Effect.flatMap(Emulator.Emulator, (e) => e.seed.aspects(60, { entity: listEntity, schema: noteSchema }))
  ),
  readRow("Service.get", /^\/1\/services2?\/[^/]+$/, Service.get(hello), (s) => s.id === hello && s.parameters.length === 1 && (s.status !== "unknown" || s.rawStatus === "paused"), {
    missingKey: without("parameters"),
    nullOptional: set("description", null),
    unknownEnum: set("status", "paused")
  }),
  readRow("Artifact.get", /^\/1\/artifacts\/[^/]+$/, Artifact.get(SeedData.readmeArtifact.id), (a) => a.name === "README.md" && (a.status === "ready" || a.rawStatus === "archived"), {
    missingKey: without("links"),
    nullOptional: set("name", null),
    unknownEnum: set("status", "archived")
  }),
  readRow("Aspect.get", /^\/1\/aspects\/[^/]+$/, Aspect.get(SeedData.readmeAspect.id), (a) => a.content["title"] === "Sample artifact", {
    missingKey: without("asserter"),
    nullOptional: set("retracter", null)
  }),
  writeRow(
    "Order.place",
    /^\/1\/orders$/,
    Order.place(hello, { msg: "reliability" }),
    (o) => o.service === hello && o.parameter("msg")._tag === "Some",
    Stream.runCount(Order.list()),
    { missingKey: without("parameters"), nullOptional: set("name", null), unknownEnum: set("status", "on-hold") }
  ),
  writeRow(
    "Aspect.add",
    /^\/1\/aspects$/,
    Aspect.add(SeedData.readmeArtifact.id, { $schema: noteSchema, note: "reliability" }),
    (id) => id.startsWith("urn:ivcap:aspect:"),
    Stream.runCount(Aspect.list({ entity: SeedData.readmeArtifact.id, schema: noteSchema })),
    { missingKey: without("id") },
    `/1/aspects?entity=${encodeURIComponent(SeedData.readmeArtifact.id)}&schema=`
  ),
  {
    name: "Upload.upload (create)",
    kind: "upload",
    target: { method: "POST", path: /^\/1\/artifacts$/ },
    skip: 0,
    cutResponseAt: 20,
    cutRequestAt: 0,
    json: { missingKey: without("id"), nullOptional: set("name", null), unknownEnum: set("status", "quarantined") },
    prepare: () =>
      Effect.succeed({
        run: Effect.gen(function*() {
          const bytes = H.randomBytes(200 * KiB, 7)
          const artifact = yield* Upload.upload(UploadSource.fromBytes(bytes, { name: "blob.bin" }), uploadOptions)
          return judgeBytes(H.sha256(yield* H.storedContent(artifact.dataHref)), H.sha256(bytes))
        }),
        records: artifactCount
      })
  },
  {
    name: "NodeTransfer.uploadFile (PATCH)",
    kind: "upload",
    target: { method: "PATCH", path: /\/blob$/ },
    skip: 1,
    cutResponseAt: 0,
    cutRequestAt: 100 * KiB,
    prepare: () =>
      Effect.gen(function*() {
        const dir = yield* H.tempDir
        const file = path.join(dir, "scan.bin")
        const bytes = H.randomBytes(1024 * KiB, 11)
        const fs = yield* FileSystem.FileSystem
        yield* fs.writeFile(file, bytes)
        return {
          run: Effect.gen(function*() {
            const artifact = yield* NodeTransfer.uploadFile(file, uploadOptions)
            return judgeBytes(H.sha256(yield* H.storedContent(artifact.dataHref)), H.sha256(bytes))
          }),
          records: artifactCount
        }
      })
  },
  downloadRow("Download.stream", (record) =>
    Effect.map(Stream.runCollect(Download.stream(record, { retry: H.quickResume })), (c) => ({ sha: H.sha256(Chunk.toReadonlyArray(c)) }))),
  downloadRow("NodeTransfer.downloadToFile", (record, dir) =>
    Effect.gen(function*() {
      const target = path.join(dir, "out.bin")
      const result = yield* NodeTransfer.downloadToFile(record, target, { retry: H.quickResume, computeSha256: true })
      const fs = yield* FileSystem.FileSystem
      const written = H.sha256(yield* fs.readFile(target))
      yield* fs.remove(target)
      const reported = Option.getOrElse(result.sha256, () => "none")
      return { sha: written === reported ? written : `file ${written} ≠ reported ${reported}` }
    }))
]

function downloadRow(name: string, download: (record: Artifact.ArtifactDetails, dir: string) => Effect.Effect<{ readonly sha: string }, unknown, Env>): Row {
  return {
    name,
    kind: "download",
    target: { method: "GET", path: /\/blob$/ },
    skip: 0,
    cutResponseAt: 300 * KiB,
    cutRequestAt: 0,
    prepare: () =>
      Effect.gen(function*() {
        const dir = yield* H.tempDir
        const bytes = H.randomBytes(1024 * KiB, 13)
        const record = yield* uploaded(bytes)
        const fs = yield* FileSystem.FileSystem
        return {
          run: Effect.map(download(record, dir), ({ sha }) => judgeBytes(sha, H.sha256(bytes))),
          // Nothing may be left in the folder: no partial download, success or failure.
          leftovers: Effect.map(Effect.orDie(fs.readDirectory(dir)), (entries) => (entries.length === 0 ? undefined : `left behind: ${entries.join(", ")}`))
        }
      })
  }
}

// ---------------------------------------------------------------------------------------------------------------
// faults

const html = (status: 404 | 502) => {
  const title = `${status} ${status === 404 ? "Not Found" : "Bad Gateway"}`
  return `<!DOCTYPE html><html><head><title>${title}</title></head><body><h1>${title}</h1><hr><center>nginx</center></body></html>`
}

const hugeBytes = 32 * 1024 * KiB
const huge = "x".repeat(hugeBytes)

interface Column {
  readonly name: string
  /** The rule for a row, or `undefined` where the fault does not apply. */
  readonly rule: (row: Row, match: Faults.FaultMatch) => Faults.FaultRule | undefined
  /** Extra target requests a retried operation makes (checked for lists and reads). */
  readonly retries?: number
  /** A per-call timeout for this column. */
  readonly timeout?: Duration.DurationInput
  /** The JSON rewrite of this column, whose field a `DecodeError` must name. */
  readonly field?: (row: Row) => JsonFault | undefined
}

/** A column that rewrites the target's JSON body with the row's rewrite of that kind, if it has one. */
const jsonRule = (pick: (row: Row) => JsonFault | undefined) => (row: Row, match: Faults.FaultMatch) => {
  const fault = pick(row)
  return fault === undefined ? undefined : Faults.mapBody((json) => fault.f(json as Json), { match, skip: row.skip })
}

const isJsonRow = (row: Row) => row.json !== undefined
const onlyLists = (row: Row) => row.kind === "list"

const columns: ReadonlyArray<Column> = [
  { name: "503 burst", retries: 3, rule: (row, match) => Faults.status(503, { match, skip: row.skip, times: 3 }) },
  { name: "429 + Retry-After", retries: 1, rule: (row, match) => Faults.status(429, { match, skip: row.skip, retryAfter: 1 }) },
  { name: "reset mid-response", retries: 1, rule: (row, match) => Faults.cutResponse(row.cutResponseAt, { match, skip: row.skip }) },
  { name: "reset mid-request-body", retries: 1, rule: (row, match) => Faults.cutRequestBody(row.cutRequestAt, { match, skip: row.skip }) },
  { name: "stall past timeout", retries: 1, timeout: "1 second", rule: (row, match) => Faults.stall({ match, skip: row.skip }) },
  {
    name: "malformed JSON",
    rule: (row, match) => Faults.malformed("{\"items\": [{\"id\": ", { match, skip: row.skip })
  },
  { name: "missing required key", field: (row) => row.json?.missingKey, rule: jsonRule((row) => row.json?.missingKey) },
  { name: "null optional field", field: (row) => row.json?.nullOptional, rule: jsonRule((row) => row.json?.nullOptional) },
  { name: "unknown enum value", field: (row) => row.json?.unknownEnum, rule: jsonRule((row) => row.json?.unknownEnum) },
  { name: "HTML 502 page", retries: 1, rule: (row, match) => Faults.malformed(html(502), { match, skip: row.skip, status: 502, contentType: "text/html" }) },
  { name: "HTML 404 page", rule: (row, match) => Faults.malformed(html(404), { match, skip: row.skip, status: 404, contentType: "text/html" }) },
  {
    name: "huge body (32 MiB)",
    rule: (row, match) =>
      isJsonRow(row)
        ? Faults.mapBody((j) => ({ ...(j as Json), padding: huge }), { match, skip: row.skip })
        : Faults.malformed(huge, { match, skip: row.skip, contentType: "application/octet-stream" })
  },
  {
    name: "next repeats its cursor",
    rule: (row, match) =>
      onlyLists(row)
        ? Faults.mapBody((j) => {
          const json = j as { links: Array<{ rel: string; href: string }> }
          const self = json.links.find((l) => l.rel === "self")!.href
          return { ...json, links: json.links.map((l) => (l.rel === "next" ? { ...l, href: self } : l)) }
        }, { match, skip: row.skip })
        : undefined
  },
  { name: "empty page + next", rule: (row, match) => (onlyLists(row) ? Faults.mapBody((j) => ({ ...(j as Json), items: [] }), { match }) : undefined) },
  {
    name: "empty pages forever",
    rule: (row, match) => (onlyLists(row) ? Faults.mapBody((j) => ({ ...(j as Json), items: [] }), { match, times: 1000 }) : undefined)
  }
]

// ---------------------------------------------------------------------------------------------------------------
// the specification: rows × columns → the exact outcome ("ok" = succeeded with the right result)

const ok = "ok"
const na = "n/a"
const Decode = "DecodeError"
const Unexpected = "UnexpectedStatus"
const Paging = "PagingError"
const Mismatch = "DownloadMismatch"

// 503 burst | 429 | reset mid-response | reset mid-request-body | stall | malformed JSON | missing key | null optional |
// unknown enum | HTML 502 | HTML 404 | huge body | repeated cursor | empty page + next | empty pages forever
const expected: Record<string, ReadonlyArray<string>> = {
  "Service.list": [ok, ok, ok, ok, ok, Decode, Decode, Decode, na, ok, Unexpected, ok, Paging, ok, Paging],
  "Aspect.list": [ok, ok, ok, ok, ok, Decode, Decode, Decode, na, ok, Unexpected, ok, Paging, ok, Paging],
  "Service.get": [ok, ok, ok, ok, ok, Decode, Decode, Decode, ok, ok, Unexpected, ok, na, na, na],
  "Artifact.get": [ok, ok, ok, ok, ok, Decode, Decode, Decode, ok, ok, Unexpected, ok, na, na, na],
  "Aspect.get": [ok, ok, ok, ok, ok, Decode, Decode, Decode, na, ok, Unexpected, ok, na, na, na],
  "Order.place": ["ServiceUnavailable", "RateLimited", "TransportError", "TransportError", "RequestTimeout", Decode, Decode, Decode, Decode, Unexpected, Unexpected, ok, na, na, na],
  "Aspect.add": ["ServiceUnavailable", "RateLimited", "TransportError", "TransportError", "RequestTimeout", Decode, Decode, na, na, Unexpected, Unexpected, ok, na, na, na],
  "Upload.upload (create)": ["ServiceUnavailable", "RateLimited", "TransportError", "TransportError", "RequestTimeout", Decode, Decode, Decode, ok, Unexpected, Unexpected, ok, na, na, na],
  "NodeTransfer.uploadFile (PATCH)": [ok, ok, ok, ok, ok, ok, na, na, na, ok, "ResourceNotFound", ok, na, na, na],
  "Download.stream": [ok, ok, ok, ok, ok, Mismatch, na, na, na, ok, Unexpected, Mismatch, na, na, na],
  "NodeTransfer.downloadToFile": [ok, ok, ok, ok, ok, Mismatch, na, na, na, ok, Unexpected, Mismatch, na, na, na]
}

/** One observed cell, as written to the summary. */
interface Cell {
  readonly operation: string
  /** Whether the faulted request is a (never retried) POST. */
  readonly post: boolean
  readonly fault: string
  readonly expected: string
  readonly observed: string
  readonly message?: string
  readonly targetRequests: number
  readonly cleanTargetRequests: number
  readonly totalRequests: number
  /** The most POSTs any one collection received (at most 1: no operation here sends a second). */
  readonly maxPosts: number
  /** Records created by the operation (orders, aspects, artifacts) and beyond one: duplicates. */
  readonly created?: number
  readonly duplicateItems?: number
  readonly missingItems?: number
  /** Lists that failed: the items delivered before the error. */
  readonly deliveredBeforeError?: number
  readonly bytesOk?: boolean
  readonly millis: number
}

const cells: Array<Cell> = []

const postsPerCollection = Effect.gen(function*() {
  const counts = yield* Effect.all(["/1/orders", "/1/aspects", "/1/artifacts"].map((p) => H.count({ method: "POST", path: new RegExp(`^${p}$`) })))
  return Math.max(...counts)
})

/** How many target requests the operation makes without any fault (measured, per row). */
const cleanRequests = new Map<string, number>()

const runCell = (row: Row, column: Column, want: string) =>
  Effect.gen(function*() {
    const emulator = yield* Emulator.Emulator
    const match = { method: row.target.method, path: row.target.path }
    if (!cleanRequests.has(row.name)) {
      yield* H.fresh
      const prepared = yield* row.prepare("clean")
      yield* H.forget
      const exit = yield* H.exitOf(prepared.run)
      expect(H.outcomeOf(exit), `${row.name} without faults`).toBe(ok)
      cleanRequests.set(row.name, yield* H.count(match))
    }
    yield* H.fresh
    const prepared = yield* row.prepare(column.name)
    const before = prepared.records ? yield* prepared.records : 0
    yield* H.forget
    yield* emulator.faults.inject(column.rule(row, match)!)
    const started = Date.now()
    const run = column.timeout ? IvcapClient.withRequestOptions(prepared.run, { timeout: column.timeout }) : prepared.run
    const exit = yield* H.exitOf(run)
    const millis = Date.now() - started
    const targetRequests = yield* H.count(match)
    const totalRequests = yield* H.count()
    const maxPosts = yield* postsPerCollection
    yield* emulator.faults.reset
    const created = prepared.records ? (yield* prepared.records) - before : undefined
    const leftover = prepared.leftovers ? yield* prepared.leftovers : undefined
    const verdict = Exit.isSuccess(exit) ? exit.value : undefined
    const delivered = prepared.delivered?.()
    const observed = verdict !== undefined && !verdict.correct ? `wrong result: ${verdict.detail}` : H.outcomeOf(exit)
    const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.failureOption(exit.cause)) : undefined
    const failure = Exit.isFailure(exit) ? (error === undefined ? Cause.pretty(exit.cause) : String(error)) : undefined
    const cell: Cell = {
      operation: row.name,
      post: row.target.method === "POST",
      fault: column.name,
      expected: want,
      observed,
      ...(failure !== undefined ? { message: failure.split("\n")[0]!.slice(0, 200) } : {}),
      targetRequests,
      cleanTargetRequests: cleanRequests.get(row.name)!,
      totalRequests,
      maxPosts,
      ...(created !== undefined ? { created } : {}),
      ...(verdict?.duplicates !== undefined ? { duplicateItems: verdict.duplicates, missingItems: verdict.missing } : {}),
      ...(delivered !== undefined && Exit.isFailure(exit) ? { deliveredBeforeError: delivered.count } : {}),
      ...(row.kind === "upload" || row.kind === "download" ? { bytesOk: verdict?.correct === true } : {}),
      millis
    }
    cells.push(cell)

    expect(observed, `${row.name} × ${column.name}: ${cell.message ?? verdict?.detail ?? ""}`).toBe(want)
    expect(maxPosts, "a POST reached the server at most once").toBeLessThanOrEqual(1)
    if (created !== undefined) expect(created, "no duplicate record").toBeLessThanOrEqual(1)
    if (row.kind === "write" || row.target.method === "POST") expect(targetRequests, "the POST was sent exactly once").toBe(1)
    expect(leftover).toBeUndefined()
    // A list that fails on page 2 has delivered page 1, exactly (none after ten empty pages), and nothing of page 2.
    if (delivered !== undefined && Exit.isFailure(exit)) {
      expect(delivered).toEqual({ count: column.name === "empty pages forever" ? 0 : pageSize, prefix: true })
    }
    // A retried list page or record read costs exactly the retries the fault forced, no more.
    if ((row.kind === "list" || row.kind === "read") && want === ok && column.retries !== undefined) {
      expect(targetRequests).toBe(cleanRequests.get(row.name)! + column.retries)
    }
    if (column.name === "429 + Retry-After" && want === ok) expect(millis).toBeGreaterThanOrEqual(1000)
    // A decode error names the wire field that was wrong.
    const field = column.field?.(row)?.field
    if (field !== undefined && observed === Decode) expect(cell.message).toContain(`${field}:`)
    // An error names the request it is about by its whole URL.
    if (row.errorUrl !== undefined && typeof error === "object" && error !== null && "url" in error) expect(String(error.url)).toContain(row.errorUrl)
  })

layer(H.layer(), { timeout: 120_000 })("fault matrix", (it) => {
  for (const row of rows) {
    const wants = expected[row.name]!
    columns.forEach((column, i) => {
      const want = wants[i]!
      const applies = column.rule(row, {}) !== undefined
      it.effect(`${row.name} × ${column.name} → ${want}`, () =>
        H.observed(Effect.gen(function*() {
          expect(applies ? want : na, "the table marks exactly the cells that do not apply").toBe(want)
          if (!applies) {
            cells.push({ operation: row.name, post: row.target.method === "POST", fault: column.name, expected: na, observed: na, targetRequests: 0, cleanTargetRequests: 0, totalRequests: 0, maxPosts: 0, millis: 0 })
            return
          }
          yield* runCell(row, column, want)
        })), 60_000)
    })
  }

  it.effect("summary: every cell observed, nothing leaked", () =>
    H.observed(Effect.gen(function*() {
      expect(cells.length).toBe(rows.length * columns.length)
      const tried = cells.filter((c) => c.observed !== na)
      const leaks = H.leaks()
      yield* H.writeSummary("matrix", {
        cells,
        totals: {
          cells: cells.length,
          tried: tried.length,
          notApplicable: cells.length - tried.length,
          asExpected: tried.filter((c) => c.observed === c.expected).length,
          succeeded: tried.filter((c) => c.observed === ok).length,
          typedErrors: tried.filter((c) => c.observed !== ok).length,
          duplicatePosts: tried.filter((c) => c.maxPosts > 1).length,
          duplicateRecords: tried.reduce((n, c) => n + Math.max(0, (c.created ?? 0) - 1), 0),
          duplicateItems: tried.reduce((n, c) => n + (c.duplicateItems ?? 0), 0),
          missingItems: tried.reduce((n, c) => n + (c.missingItems ?? 0), 0),
          byteMismatchesOnSuccess: tried.filter((c) => c.observed === ok && c.bytesOk === false).length,
          leaks: leaks.length,
          capture: H.captureCounts()
        }
      })
      expect(leaks).toEqual([])
      // The capture is not empty: the leak check above searched real output.
      expect(H.captureCounts().spans).toBeGreaterThan(100)
      expect(H.captureCounts().errors).toBeGreaterThan(50)
    })))
})
