/**
 * Hostile upload server: what a server that speaks broken HTTP/1.1 to the record's `POST` or to a tus `PATCH` can
 * do to `NodeTransfer.uploadFile` with `IvcapNode.layer`'s transport (each of an upload's requests on a direct
 * connection of its own), over a raw TCP socket on 127.0.0.1 with no HTTP library on the server side. Apart from
 * the broken answer, the server is a minimal, well-formed IVCAP artifact + tus server.
 *
 * Every broken answer must end, within a bounded time, in a typed error: never a crash, a hang or a marker. The
 * `POST` is sent exactly once whatever its answer (it is not idempotent), a broken `PATCH` is followed by a `HEAD`
 * and at most a bounded number of retries, what the server stored is always a prefix of the file, the file is
 * closed at the end and the token appears in no error. Well-formed answers the parser is less used to (a head
 * written byte by byte, interim `100 Continue` answers, HTTP/1.0, a chunked record, a connection left open after
 * the answer) must give a complete upload of exactly the file's bytes.
 */
import { describe, expect, it } from "@effect/vitest"
import { IvcapNode, NodeTransfer } from "@ivcap/node"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import { existsSync, writeFileSync } from "node:fs"
import type * as net from "node:net"
import { join } from "node:path"
import { openOn, tempDir } from "../upload-helpers.js"
import { type Answer, byteByByte, continueForever, endlessHead, failureTag, head, reset, send, server as rawTcpServer, silence } from "./rawTcp.js"

const token = "hostile-up-TOKEN-7d2e91b4-do-not-leak"
const artifactId = "urn:ivcap:artifact:6a1d4e5f-2c3b-4d6e-9f0a-1b2c3d4e5f60"
const content = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 13 + 5) % 256))
/** Three PATCHes of 128 KiB (the last shorter). */
const chunkSize = 128 * 1024

/** What the server saw and stored. */
interface Seen {
  readonly methods: Array<string>
  stored: Buffer
  /** PATCHes answered with the broken answer so far. */
  brokenPatches: number
}

/**
 * How the server answers: a broken answer to the `POST` or to every `PATCH` (which then stores nothing), or a
 * well-formed answer in an unusual form — given the record's JSON (`POST`) or the new offset once the body is
 * stored (`PATCH`).
 */
interface Answers {
  readonly broken?: { readonly post?: Answer; readonly patch?: Answer }
  readonly form?: { readonly post?: (record: string) => Answer; readonly patch?: (offset: number) => Answer }
}

/** A raw server: one request per connection (the client sends `Connection: close`), parsed by hand. */
const rawServer = (answers: Answers) => {
  const seen: Seen = { methods: [], stored: Buffer.alloc(0), brokenPatches: 0 }
  return Effect.map(rawTcpServer((socket, server) => {
    let buffered = Buffer.alloc(0)
    let request: { method: string; path: string; headers: Map<string, string>; length: number } | undefined
    socket.on("data", (data) => {
      buffered = Buffer.concat([buffered, data])
      if (request === undefined) {
        const end = buffered.indexOf("\r\n\r\n")
        if (end === -1) return
        const [requestLine, ...lines] = buffered.subarray(0, end).toString("latin1").split("\r\n")
        const [method = "", path = ""] = requestLine!.split(" ")
        const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(":")).trim().toLowerCase(), l.slice(l.indexOf(":") + 1).trim()]))
        request = { method, path, headers, length: Number(headers.get("content-length") ?? "0") }
        buffered = buffered.subarray(end + 4)
      }
      if (buffered.length < request.length) return
      const { headers, method, path } = request
      const body = buffered.subarray(0, request.length)
      seen.methods.push(method)
      const port = (server.address() as net.AddressInfo).port
      const record = (status: string) =>
        JSON.stringify({ id: artifactId, status, size: content.length, "data-href": `http://127.0.0.1:${port}/blob`, links: [] })
      const json = (status: string, text: string) =>
        send(head([status, "Content-Type: application/json", `Content-Length: ${Buffer.byteLength(text)}`]), text)(socket)
      const tus = ["Tus-Resumable: 1.0.0", `Upload-Length: ${content.length}`]
      if (method === "POST") {
        if (answers.broken?.post) return answers.broken.post(socket)
        if (answers.form?.post) return answers.form.post(record("pending"))(socket)
        return json("HTTP/1.1 201 Created", record("pending"))
      }
      if (method === "GET" && path.startsWith("/1/artifacts/")) return json("HTTP/1.1 200 OK", record("ready"))
      if (method === "HEAD") return send(head(["HTTP/1.1 200 OK", ...tus, `Upload-Offset: ${seen.stored.length}`]))(socket)
      if (method === "PATCH") {
        if (answers.broken?.patch) {
          seen.brokenPatches++
          return answers.broken.patch(socket)
        }
        if (Number(headers.get("upload-offset")) === seen.stored.length) seen.stored = Buffer.concat([seen.stored, body])
        if (answers.form?.patch) return answers.form.patch(seen.stored.length)(socket)
        return send(head(["HTTP/1.1 204 No Content", ...tus, `Upload-Offset: ${seen.stored.length}`]))(socket)
      }
      send(head(["HTTP/1.1 404 Not Found", "Content-Length: 0"]))(socket)
    })
  }), (s) => ({ ...s, seen }))
}

/**
 * Uploads the content from a fresh file to a raw server answering as `answers` say, with short waits (two retries
 * 20 ms apart, a 2 s request timeout). Returns the exit, whether a marker was written, whether the file is still
 * open, how long it took and what the server saw.
 */
const upload = (answers: Answers) =>
  Effect.scoped(Effect.gen(function*() {
    const { seen, url } = yield* rawServer(answers)
    const dir = yield* tempDir
    const file = join(dir, "content.bin")
    writeFileSync(file, content)
    const started = Date.now()
    const exit = yield* NodeTransfer.uploadFile(file, {
      chunkSize,
      retry: Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(2))),
      resume: false
    }).pipe(Effect.provide(IvcapNode.layer({ url, token, timeout: "2 seconds", uploadStateDir: join(dir, "state") })), Effect.exit)
    const millis = Date.now() - started
    // The body's reader closes the file a moment after a failed request ends (as after an interruption).
    for (let i = 0; i < 40 && openOn(file) > 0; i++) yield* Effect.sleep("25 millis")
    return { exit, millis, seen, open: openOn(file), marker: existsSync(join(dir, ".ivcap-content.bin.txt")) }
  }))

const typed = ["TransportError", "RequestTimeout", "UnexpectedStatus", "DecodeError"]

/** Whether a PATCH followed an earlier PATCH with no HEAD between them (offsets come only from the server). */
const resentBlindly = (methods: ReadonlyArray<string>): boolean =>
  methods.some((m, i) => m === "PATCH" && methods.slice(0, i).lastIndexOf("PATCH") > methods.slice(0, i).lastIndexOf("HEAD"))

/** Broken answers: each, given to the `POST` or to every `PATCH`, must be a typed error. */
const broken: ReadonlyArray<readonly [string, Answer]> = [
  ["a status line that is not HTTP", send("HTTX/1.1 201 Created\r\n\r\n", "{}")],
  ["a head that never ends (200 KiB of headers)", endlessHead("HTTP/1.1 201 Created")],
  ["a header line without a colon", send(head(["HTTP/1.1 204 No Content", "this is not a header"]))],
  ["two different Content-Length values", send(head(["HTTP/1.1 201 Created", "Content-Length: 2", "Content-Length: 3"]), "{}")],
  ["fewer bytes than Content-Length", send(head(["HTTP/1.1 201 Created", "Content-Type: application/json", "Content-Length: 500"]), "{\"id\":")],
  ["a malformed chunked body", send(head(["HTTP/1.1 201 Created", "Content-Type: application/json", "Transfer-Encoding: chunked"]), "zz\r\n{}\r\n0\r\n\r\n")],
  ["a head, then silence", (socket) => {
    socket.write(head(["HTTP/1.1 201 Created", "Content-Type: application/json", "Content-Length: 100"]))
  }],
  ["nothing at all (the connection stays open)", silence],
  ["interim 100 Continue answers for ever, slowly", continueForever],
  ["an immediate reset", reset]
]

const tusHead = (offset: number, status = "HTTP/1.1 204 No Content") => head([status, "Tus-Resumable: 1.0.0", `Upload-Offset: ${offset}`])

/** Well-formed answers in unusual forms, to the `POST` and to every `PATCH`: the upload must complete exactly. */
const wellFormed: ReadonlyArray<readonly [string, NonNullable<Answers["form"]>]> = [
  ["heads written one byte at a time", {
    post: (record) => byteByByte(head(["HTTP/1.1 201 Created", "Content-Type: application/json", `Content-Length: ${record.length}`]), record),
    patch: (offset) => byteByByte(tusHead(offset))
  }],
  ["an interim 100 Continue before each answer", {
    post: (record) => send(`HTTP/1.1 100 Continue\r\n\r\n${head(["HTTP/1.1 201 Created", "Content-Type: application/json", `Content-Length: ${record.length}`])}`, record),
    patch: (offset) => send(`HTTP/1.1 100 Continue\r\n\r\n${tusHead(offset)}`)
  }],
  ["HTTP/1.0 answers", {
    post: (record) => send(head(["HTTP/1.0 201 Created", "Content-Type: application/json", `Content-Length: ${record.length}`]), record),
    patch: (offset) => send(tusHead(offset, "HTTP/1.0 204 No Content"))
  }],
  ["a chunked record, and PATCH answers that leave the connection open", {
    post: (record) => send(head(["HTTP/1.1 201 Created", "Content-Type: application/json", "Transfer-Encoding: chunked"]), `${record.length.toString(16)}\r\n${record}\r\n0\r\n\r\n`),
    patch: (offset) => (socket) => void socket.write(head(["HTTP/1.1 204 No Content", "Tus-Resumable: 1.0.0", `Upload-Offset: ${offset}`, "Content-Length: 0"]), "latin1")
  }]
]

describe("hostile upload server (raw TCP)", () => {
  for (const [name, answer] of broken) {
    it.live(`the POST answered with ${name}: a typed error, one POST, no PATCH, no marker, no token`, () =>
      Effect.gen(function*() {
        const result = yield* upload({ broken: { post: answer } })
        const tag = failureTag(result.exit)
        expect(typed, `${name}: ${tag}`).toContain(tag)
        expect(result.seen.methods, "the POST is sent once and nothing follows it").toEqual(["POST"])
        expect(result.marker).toBe(false)
        expect(result.open, "the file is closed").toBe(0)
        expect(result.millis, "ends within the test's bounds").toBeLessThan(20_000)
        expect(Exit.isFailure(result.exit) ? Cause.pretty(result.exit.cause) : "").not.toContain(token)
      }), 30_000)
    it.live(`every PATCH answered with ${name}: a typed error, any retry after a HEAD, nothing stored, no marker, no token`, () =>
      Effect.gen(function*() {
        const result = yield* upload({ broken: { patch: answer } })
        const tag = failureTag(result.exit)
        expect(typed, `${name}: ${tag}`).toContain(tag)
        expect(result.seen.methods.filter((m) => m === "POST")).toEqual(["POST"])
        expect(result.seen.brokenPatches, "bounded retries").toBeLessThanOrEqual(4)
        expect(resentBlindly(result.seen.methods), "a PATCH sent again only after a HEAD asked the server's offset").toBe(false)
        expect(result.seen.stored.length).toBe(0)
        expect(result.marker).toBe(false)
        expect(result.open, "the file is closed").toBe(0)
        expect(result.millis, "ends within the test's bounds").toBeLessThan(20_000)
        expect(Exit.isFailure(result.exit) ? Cause.pretty(result.exit.cause) : "").not.toContain(token)
      }), 30_000)
  }
  for (const [name, form] of wellFormed) {
    it.live(`${name}: the upload completes with exactly the file's bytes and its marker`, () =>
      Effect.gen(function*() {
        const result = yield* upload({ form })
        expect(failureTag(result.exit)).toBe("success")
        expect(result.seen.stored.equals(content)).toBe(true)
        expect(result.seen.methods).toEqual(["POST", "PATCH", "PATCH", "PATCH", "GET"])
        expect(result.marker).toBe(true)
        expect(result.open).toBe(0)
      }), 30_000)
  }
})
