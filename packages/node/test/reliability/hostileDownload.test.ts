/**
 * Hostile content server: what a server that speaks broken HTTP/1.1 on an artifact's content `GET` can do to
 * `NodeTransfer.downloadToFile` with `IvcapNode.layer`'s transport, over a raw TCP socket on 127.0.0.1 (no HTTP
 * library on the server side, so every byte of each answer is the test's own).
 *
 * Every broken answer must end, within a bounded time, in a typed error (`TransportError`, `RequestTimeout` or
 * `DownloadMismatch`): never a crash, a hang, or a file in place holding the wrong bytes. The token never appears in
 * an error. Well-formed answers the parser is less used to (a head split byte by byte over many TCP segments, an
 * interim `100 Continue`, chunk extensions and trailers, a body framed by the connection's end) must give exactly
 * the content.
 */
import { describe, expect, it } from "@effect/vitest"
import { IvcapNode, NodeTransfer } from "@ivcap/node"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schedule from "effect/Schedule"
import { createHash } from "node:crypto"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import type * as net from "node:net"
import { join } from "node:path"
import { tempDir } from "../upload-helpers.js"
import { type Answer, byteByByte, continueForever, endlessHead, failureTag, head, reset, send, server as rawTcpServer, silence } from "./rawTcp.js"

const token = "hostile-dl-TOKEN-0c41e7a2-do-not-leak"
const artifactId = "urn:ivcap:artifact:5f0c3d4e-1b2a-4c5d-8e9f-0a1b2c3d4e5f"
const content = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7 + 3) % 256))
const md5 = createHash("md5").update(content).digest("hex")


/** A raw server: `GET /1/artifacts/…` gets a well-formed record, `GET /content` gets `answer`. */
const rawServer = (answer: Answer) => {
  const contentGets = { n: 0 }
  return Effect.map(rawTcpServer((socket, server) => {
    let buffered = ""
    socket.on("data", (data) => {
      buffered += data.toString("latin1")
      const end = buffered.indexOf("\r\n\r\n")
      if (end === -1) return
      const [requestLine] = buffered.slice(0, end).split("\r\n")
      buffered = buffered.slice(end + 4)
      const path = requestLine!.split(" ")[1] ?? ""
      if (path.startsWith("/1/artifacts/")) {
        const port = (server.address() as net.AddressInfo).port
        const record = JSON.stringify({
          id: artifactId,
          status: "ready",
          size: content.length,
          "mime-type": "application/octet-stream",
          etag: `"${md5}"`,
          "data-href": `http://127.0.0.1:${port}/content`,
          links: []
        })
        socket.end(head(["HTTP/1.1 200 OK", "Content-Type: application/json", `Content-Length: ${Buffer.byteLength(record)}`, "Connection: close"]) + record)
      } else {
        contentGets.n++
        answer(socket)
      }
    })
  }), (s) => ({ ...s, contentGets }))
}

/** `body` as one chunk per `size` bytes, with the terminating chunk. */
const chunked = (body: Buffer, size: number, extension = "", trailers: ReadonlyArray<string> = []): Buffer => {
  const parts: Array<Buffer> = []
  for (let at = 0; at < body.length; at += size) {
    const piece = body.subarray(at, at + size)
    parts.push(Buffer.from(`${piece.length.toString(16)}${extension}\r\n`, "latin1"), piece, Buffer.from("\r\n"))
  }
  parts.push(Buffer.from(`0\r\n${trailers.map((t) => `${t}\r\n`).join("")}\r\n`, "latin1"))
  return Buffer.concat(parts)
}

const okHead = (extra: ReadonlyArray<string>) => ["HTTP/1.1 200 OK", "Content-Type: application/octet-stream", `ETag: "${md5}"`, ...extra]

/**
 * Downloads the artifact from a raw server answering `answer`, with short waits (two resumes 20 ms apart, a 1 s
 * idle limit, a 1 KiB/s rate rule over 1 s), into a fresh folder. Returns the exit, the folder's files afterwards,
 * the file's bytes if it is there, how long it took and how many content GETs the server saw.
 */
const download = (answer: Answer) =>
  Effect.scoped(Effect.gen(function*() {
    const { contentGets, url } = yield* rawServer(answer)
    const dir = yield* tempDir
    const file = join(dir, "content.bin")
    const started = Date.now()
    const exit = yield* NodeTransfer.downloadToFile(artifactId, file, {
      retry: Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(2))),
      idleTimeout: "1 second",
      minRate: { bytesPerSecond: 1024, window: "1 second" }
    }).pipe(Effect.provide(IvcapNode.layer({ url, token, timeout: "2 seconds" })), Effect.exit)
    return {
      exit,
      millis: Date.now() - started,
      files: readdirSync(dir),
      bytes: existsSync(file) ? readFileSync(file) : undefined,
      contentGets: contentGets.n
    }
  }))

const typed = ["TransportError", "RequestTimeout", "DownloadMismatch"]

/** Broken answers, each of which must be a typed error with nothing left under the file's name. */
const broken: ReadonlyArray<readonly [string, Answer]> = [
  ["a status line that is not HTTP", send("HTTX/1.1 200 OK\r\n\r\n", content)],
  ["a head that never ends (200 KiB of headers)", endlessHead("HTTP/1.1 200 OK")],
  ["a header line without a colon", send(head([...okHead([`Content-Length: ${content.length}`]), "this is not a header"]), content)],
  ["two different Content-Length values", send(head(okHead([`Content-Length: ${content.length}`, `Content-Length: ${content.length + 1}`])), content)],
  ["a Content-Length that is not a number", send(head(okHead(["Content-Length: 300000abc"])), content)],
  ["a Content-Length beyond any file (20 digits)", send(head(okHead(["Content-Length: 99999999999999999999"])), content)],
  ["fewer bytes than Content-Length, every time", send(head(okHead([`Content-Length: ${content.length}`])), content.subarray(0, 1000))],
  ["more bytes than the record's size", send(head(okHead([`Content-Length: ${content.length + 10}`])), Buffer.concat([content, Buffer.alloc(10)]))],
  ["a chunk size that is not hex", send(head(okHead(["Transfer-Encoding: chunked"])), Buffer.from("zz\r\nabc\r\n0\r\n\r\n"))],
  ["a chunk-size line that never ends", (socket) => {
    socket.write(head(okHead(["Transfer-Encoding: chunked"])))
    socket.write("1".repeat(10_000))
  }],
  ["a chunk without its CRLF", send(head(okHead(["Transfer-Encoding: chunked"])), Buffer.concat([Buffer.from("4\r\nabcdXX"), Buffer.from("\r\n0\r\n\r\n")]))],
  ["a chunked body cut before its last chunk", send(head(okHead(["Transfer-Encoding: chunked"])), chunked(content, 65536).subarray(0, 100_000))],
  ["the right length with the wrong bytes (ETag md5 differs)", send(head(okHead([`Content-Length: ${content.length}`])), Buffer.alloc(content.length, 1))],
  ["a head, then silence", (socket) => {
    socket.write(head(okHead([`Content-Length: ${content.length}`])))
  }],
  ["nothing at all (the connection stays open)", silence],
  ["interim 100 Continue answers for ever, slowly", continueForever],
  ["an immediate reset", reset]
]

/** Answers a client may refuse or read to the connection's end; either way never a file with other bytes. */
const either: ReadonlyArray<readonly [string, Answer]> = [
  ["a transfer coding other than chunked, the body to the connection's end", send(head(okHead(["Transfer-Encoding: gzip"])), content)]
]

/** Well-formed answers that must give exactly the content. */
const wellFormed: ReadonlyArray<readonly [string, Answer]> = [
  ["Content-Length, the head written one byte at a time", byteByByte(head(okHead([`Content-Length: ${content.length}`])), content)],
  ["chunked with extensions and trailers, odd chunk sizes", send(head(okHead(["Transfer-Encoding: chunked"])), chunked(content, 4097, ";name=value", ["X-Trailer: 1"]))],
  ["an interim 100 Continue, then the answer", send("HTTP/1.1 100 Continue\r\n\r\n" + head(okHead([`Content-Length: ${content.length}`])), content)],
  ["no length: the body ends with the connection", send(head(okHead(["Connection: close"])), content)],
  ["HTTP/1.0 with a length", send(head(["HTTP/1.0 200 OK", `ETag: "${md5}"`, `Content-Length: ${content.length}`]), content)]
]

describe("hostile content server (raw TCP)", () => {
  for (const [name, answer] of broken) {
    it.live(`${name}: a typed error, no file, no token`, () =>
      Effect.gen(function*() {
        const result = yield* download(answer)
        const tag = failureTag(result.exit)
        expect(typed, `${name}: ${tag}`).toContain(tag)
        expect(result.files, "nothing left in the folder (no file, no temporary)").toEqual([])
        expect(result.millis, "ends within the test's bounds").toBeLessThan(20_000)
        expect(result.contentGets, "a bounded number of content requests").toBeLessThanOrEqual(3)
        expect(Exit.isFailure(result.exit) ? Cause.pretty(result.exit.cause) : "").not.toContain(token)
      }), 30_000)
  }
  for (const [name, answer] of either) {
    it.live(`${name}: a typed error or exactly the content`, () =>
      Effect.gen(function*() {
        const result = yield* download(answer)
        const tag = failureTag(result.exit)
        expect([...typed, "success"], `${name}: ${tag}`).toContain(tag)
        if (tag === "success") expect(result.bytes?.equals(content)).toBe(true)
        else expect(result.files).toEqual([])
      }), 30_000)
  }
  for (const [name, answer] of wellFormed) {
    it.live(`${name}: exactly the content`, () =>
      Effect.gen(function*() {
        const result = yield* download(answer)
        expect(failureTag(result.exit)).toBe("success")
        expect(result.bytes?.equals(content)).toBe(true)
        expect(result.files).toEqual(["content.bin"])
      }), 30_000)
  }
})
