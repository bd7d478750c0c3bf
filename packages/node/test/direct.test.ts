/**
 * `NodeHttp`'s direct content `GET`s, on the real path: against the emulator over HTTP (large content through
 * `downloadToFile`, whose slabs are given back and read into again, and `Download.stream`, whose pieces must stay
 * intact), and against loopback servers that frame bodies in the ways HTTP allows or break them: chunked, an interim
 * `103` before the answer, a body cut short (resumed with `Range`), a malformed status line (a typed error that
 * never shows the token); and over https (a child process trusting a test certificate, `fixtures/`), where an
 * untrusted certificate is refused. A download's `GET`s and an upload's requests take the direct path.
 */
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { expect, layer } from "@effect/vitest"
import { Artifact, Download, IvcapClient, Upload, UploadSource, Urn } from "@ivcap/core"
import { Emulator } from "@ivcap/emulator"
import * as NodeFileSource from "@ivcap/node/NodeFileSource"
import * as NodeHttp from "@ivcap/node/NodeHttp"
import * as NodeTransfer from "@ivcap/node/NodeTransfer"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { execFile } from "node:child_process"
import * as fs from "node:fs"
import type * as http from "node:http"
import type * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { digest, fresh, KiB, layerNode, live, loopback, openOn, quickRetry, randomBytes, tempDir, tempFile } from "./upload-helpers.js"

const MiB = 1024 * KiB
const token = "direct-secret-token"

/** A loopback server whose answers are raw bytes written to the socket (`answer(i, headers, socket)`). */
const rawServer = (answer: (i: number, headers: http.IncomingHttpHeaders, socket: net.Socket) => void) =>
  loopback((i, req, res) => {
    res.detachSocket(req.socket)
    answer(i, req.headers, req.socket)
  })

const details = (url: string, size: number) =>
  new Artifact.ArtifactDetails({ id: Urn.ArtifactUrn.make("urn:ivcap:artifact:scripted"), status: "ready", links: [], dataHref: `${url}/blob`, size })

const clientOf = (url: string) => IvcapClient.layer({ url, token, retry: false, timeout: "5 seconds" }).pipe(Layer.provide(NodeHttp.layer))

const toFile = (url: string, size: number, target: string) =>
  NodeTransfer.downloadToFile(details(url, size), target, { retry: quickRetry, computeSha256: true }).pipe(Effect.provide(clientOf(url)))

layer(layerNode)("NodeHttp against the emulator", (it) => {
  it.effect("downloadToFile writes 13 MiB byte-exact (slabs read into again after each write)", () =>
    live(Effect.gen(function*() {
      const bytes = randomBytes(13 * MiB + 17, 51)
      const artifact = yield* Upload.upload(UploadSource.fromBytes(bytes), { retry: quickRetry })
      const target = path.join(yield* tempDir, "out.bin")
      const result = yield* NodeTransfer.downloadToFile(artifact.id, target)
      expect(result.size).toBe(bytes.length)
      expect(digest("sha256", new Uint8Array(fs.readFileSync(target)))).toBe(digest("sha256", bytes))
    })))

  it.effect("Download.stream's pieces are the consumer's: all kept until the end, they still hold the content", () =>
    live(Effect.gen(function*() {
      const bytes = randomBytes(6 * MiB + 3, 52)
      const artifact = yield* Upload.upload(UploadSource.fromBytes(bytes), { retry: quickRetry })
      const pieces = Chunk.toReadonlyArray(yield* Stream.runCollect(Download.stream(artifact.id)))
      const all = Buffer.concat(pieces)
      expect(all.length).toBe(bytes.length)
      expect(digest("sha256", new Uint8Array(all))).toBe(digest("sha256", bytes))
      // Read straight into slabs: pieces of up to 1 MiB, not undici's 64 KiB.
      expect(Math.max(...pieces.map((p) => p.length))).toBeGreaterThan(64 * KiB)
    })))

  it.effect("an upload's requests go each on a connection of its own (a cut PATCH resumed after a HEAD), byte-exact; others through undici", () =>
    live(Effect.gen(function*() {
      yield* fresh
      const emulator = yield* Emulator.Emulator
      const { bytes, file } = yield* tempFile(5 * MiB + 333, "direct-up.bin")
      // The second PATCH is cut after 100 KiB: the server keeps those, the engine asks it with HEAD and goes on.
      yield* emulator.faults.inject({ match: { method: "PATCH" }, skip: 1, times: 1, action: { _tag: "CutRequestBody", afterBytes: 100 * KiB } })
      const artifact = yield* NodeTransfer.uploadFile(file, { chunkSize: 2 * MiB, retry: quickRetry, resume: false, force: true })
      expect(artifact.status).toBe("ready")
      const client = yield* IvcapClient.IvcapClient
      const content = yield* Effect.flatMap(client.httpClient.execute(HttpClientRequest.get(artifact.dataHref!)), (r) => r.arrayBuffer)
      expect(digest("sha256", new Uint8Array(content))).toBe(digest("sha256", bytes))
      const log = yield* emulator.requests.log
      const pathOf = (r: Emulator.RequestRecord) => new URL(r.url, "http://x").pathname
      const upload = log.filter((r) => r.method !== "GET" || pathOf(r).startsWith("/1/artifacts/") && !pathOf(r).endsWith("/blob"))
      expect(upload.map((r) => r.method)).toEqual(["POST", "PATCH", "PATCH", "HEAD", "PATCH", "PATCH", "GET"])
      expect(upload.every((r) => r.headers["connection"] === "close")).toBe(true)
      expect(upload.filter((r) => r.method === "PATCH").every((r) => r.headers["content-type"] === "application/offset+octet-stream" && r.headers["content-length"] !== undefined)).toBe(true)
      // The content GET above was outside an upload: undici, on a kept-alive connection.
      expect(log.at(-1)!.headers["connection"]).not.toBe("close")
    })))

  it.effect("only with Download.IterableBodies set does a GET get a direct response (body under IterableBodyKey)", () =>
    live(Effect.gen(function*() {
      const client = yield* IvcapClient.IvcapClient
      const request = HttpClientRequest.get("/1/artifacts")
      const plain = yield* client.httpClient.execute(request)
      expect(Download.iterableBodyOf(plain)).toBeUndefined()
      expect(plain.status).toBe(200)
      const direct = yield* client.httpClient.execute(request).pipe(Effect.provideService(Download.IterableBodies, true))
      expect(Download.iterableBodyOf(direct)).toBeDefined()
      // A direct response is a whole platform response too: its JSON reads as the undici one does.
      expect(Object.keys((yield* direct.json) as object)).toEqual(Object.keys((yield* plain.json) as object))
    })))
})

layer(NodeContext.layer)("NodeHttp framing", (it) => {
  it.effect("a chunked body (odd chunk sizes, extensions, a trailer) after a 103 interim answer is written byte-exact", () =>
    live(Effect.gen(function*() {
      const bytes = randomBytes(3 * MiB + 5, 53)
      const server = yield* rawServer((_i, _h, socket) => {
        const parts: Array<Buffer> = [Buffer.from("HTTP/1.1 103 Early Hints\r\nlink: </x>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\netag: \"c1\"\r\n\r\n")]
        for (let at = 0, n = 1; at < bytes.length; n = (n * 7 + 3) % 200_003 + 1) {
          const piece = bytes.subarray(at, Math.min(bytes.length, at + n))
          parts.push(Buffer.from(`${piece.length.toString(16)};ext=1\r\n`), Buffer.from(piece), Buffer.from("\r\n"))
          at += piece.length
        }
        parts.push(Buffer.from("0\r\nx-trailer: 1\r\n\r\n"))
        socket.end(Buffer.concat(parts))
      })
      const target = path.join(yield* tempDir, "out.bin")
      const result = yield* toFile(server.url, bytes.length, target)
      expect(result.sha256).toEqual(expect.objectContaining({ value: digest("sha256", bytes) }))
      expect(digest("sha256", new Uint8Array(fs.readFileSync(target)))).toBe(digest("sha256", bytes))
      expect(server.seen.length).toBe(1)
    })))

  it.effect("a download by id reads the record on a direct connection too (undici is never used)", () =>
    live(Effect.gen(function*() {
      const bytes = randomBytes(300 * KiB, 55)
      const id = "urn:ivcap:artifact:00000000-0000-4000-8000-000000000055"
      const server = yield* loopback((_i, req, res) => {
        if (req.url?.endsWith("/blob")) return void res.writeHead(200, { "content-length": String(bytes.length), etag: "\"b1\"" }).end(bytes)
        const url = `http://127.0.0.1:${(req.socket.localPort)}`
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id, status: "ready", size: bytes.length, "data-href": `${url}/1/artifacts/${id}/blob`, links: [] }))
      })
      const target = path.join(yield* tempDir, "out.bin")
      yield* NodeTransfer.downloadToFile(id, target).pipe(Effect.provide(clientOf(server.url)))
      expect(digest("sha256", new Uint8Array(fs.readFileSync(target)))).toBe(digest("sha256", bytes))
      // Both GETs came on connections of their own, closed after the answer (undici keeps them alive instead).
      expect(server.seen.map((h) => [h.path, h.connection])).toEqual([[`/1/artifacts/${encodeURIComponent(id)}`, "close"], [`/1/artifacts/${id}/blob`, "close"]])
    })))

  it.effect("a body cut short resumes with Range + If-Range from the bytes received; the file is whole", () =>
    live(Effect.gen(function*() {
      const bytes = randomBytes(2 * MiB, 54)
      const cut = 700 * KiB + 3
      const server = yield* rawServer((i, headers, socket) => {
        const from = i === 0 ? 0 : Number(/bytes=(\d+)-/.exec(String(headers.range))?.[1] ?? 0)
        const status = i === 0 ? "200 OK" : `206 Partial Content\r\ncontent-range: bytes ${from}-${bytes.length - 1}/${bytes.length}`
        const head = Buffer.from(`HTTP/1.1 ${status}\r\netag: "v1"\r\ncontent-length: ${bytes.length - from}\r\n\r\n`)
        if (i === 0) socket.end(Buffer.concat([head, bytes.subarray(0, cut)]))
        else socket.end(Buffer.concat([head, bytes.subarray(from)]))
      })
      const target = path.join(yield* tempDir, "out.bin")
      yield* toFile(server.url, bytes.length, target)
      expect(digest("sha256", new Uint8Array(fs.readFileSync(target)))).toBe(digest("sha256", bytes))
      expect(server.seen.map((h) => [h.range, h["if-range"]])).toEqual([[undefined, undefined], [`bytes=${cut}-`, "\"v1\""]])
      // The token went with both requests (same origin).
      expect(server.seen.every((h) => h.authorization === `Bearer ${token}`)).toBe(true)
    })))

  it.effect("a resume answered from the wrong offset fails with DownloadMismatch (range) and its connection is closed unread", () =>
    live(Effect.gen(function*() {
      const bytes = randomBytes(1 * MiB, 56)
      const closed: Array<boolean> = []
      const server = yield* rawServer((i, _headers, socket) => {
        if (i === 0) return void socket.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\netag: "v1"\r\ncontent-length: ${bytes.length}\r\n\r\n`), bytes.subarray(0, 1000)]))
        // Bytes from 0 again although the request asked for 1000-: written, then the connection is held open.
        closed.push(false)
        socket.on("close", () => closed[0] = true)
        socket.write(`HTTP/1.1 206 Partial Content\r\netag: "v1"\r\ncontent-range: bytes 0-${bytes.length - 1}/${bytes.length}\r\ncontent-length: ${bytes.length}\r\n\r\n`)
        socket.write(bytes.subarray(0, 64 * KiB))
      })
      const dir = yield* tempDir
      const error = yield* Effect.flip(toFile(server.url, bytes.length, path.join(dir, "out.bin")))
      expect(error).toMatchObject({ _tag: "DownloadMismatch", reason: "range" })
      expect(fs.readdirSync(dir)).toEqual([])
      yield* Effect.retry(Effect.suspend(() => (closed[0] === true ? Effect.void : Effect.fail("open"))), Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(50))))
      expect(closed).toEqual([true])
    })))

  it.effect("a malformed status line fails with a TransportError that does not show the token; nothing is left behind", () =>
    live(Effect.gen(function*() {
      const server = yield* rawServer((_i, _h, socket) => socket.end("HTTX/9 2OO nonsense\r\n\r\nxyz"))
      const dir = yield* tempDir
      const error = yield* Effect.flip(
        NodeTransfer.downloadToFile(details(server.url, 3), path.join(dir, "out.bin"), { retry: quickRetry }).pipe(Effect.provide(clientOf(server.url)))
      )
      expect(error._tag).toBe("TransportError")
      expect(String(error.message)).toMatch(/malformed status line/)
      expect(JSON.stringify(error)).not.toContain(token)
      expect(String(error)).not.toContain(token)
      expect(fs.readdirSync(dir)).toEqual([])
      // Transient: retried under the download's schedule (quickRetry: 6 more).
      expect(server.seen.length).toBe(7)
    })))

  it.effect("a PATCH answered 403 before its body is read: Forbidden with the server's message, the file closed", () =>
    live(Effect.gen(function*() {
      const size = 24 * MiB
      const { file } = yield* tempFile(size, "early.bin")
      const server = yield* loopback((_i, req, res) => {
        if (req.method === "HEAD") return void res.writeHead(200, { "upload-offset": "0", "upload-length": String(size), "tus-resumable": "1.0.0" }).end()
        res.writeHead(403, { "content-type": "application/json" }).end(JSON.stringify({ message: "not yours to write" }))
      })
      const source = yield* NodeFileSource.fromFile(file)
      const error = yield* Effect.flip(Upload.resumeAt(`${server.url}/blob`, source, { chunkSize: 16 * MiB }).pipe(
        Effect.provide(clientOf(server.url)),
        Effect.provideService(UploadSource.IterableBodies, true)
      ))
      expect(error._tag).toBe("Forbidden")
      expect(error.message).toContain("not yours to write")
      expect(server.seen.map((h) => [h.path, h.connection])).toEqual([["/blob", "close"], ["/blob", "close"]])
      // The body's writer stops at the answer and closes the file (as after an interruption, a moment later).
      for (let i = 0; i < 40 && openOn(file) > 0; i++) yield* Effect.sleep("25 millis")
      expect(openOn(file)).toBe(0)
    })))

  it.effect("an error status is read as with undici: the same typed error, message and status from the JSON body", () =>
    live(Effect.gen(function*() {
      const server = yield* rawServer((_i, _h, socket) => {
        const body = "{\"message\":\"no such artifact\"}"
        socket.end(`HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`)
      })
      const run = (http: Layer.Layer<HttpClient.HttpClient>) =>
        Effect.flip(Stream.runDrain(Download.stream(details(server.url, 10))).pipe(
          Effect.provide(IvcapClient.layer({ url: server.url, token, retry: false, timeout: "5 seconds" }).pipe(Layer.provide(http)))
        ))
      const direct = yield* run(NodeHttp.layer)
      const undici = yield* run(NodeHttpClient.layerUndici)
      expect(direct._tag).toBe(undici._tag)
      expect(direct.message).toBe(undici.message)
      expect(direct.message).toContain("no such artifact")
      expect(JSON.stringify(direct)).toBe(JSON.stringify(undici))
    })))
})

/** Runs `fixtures/tls-<kind>-child.mjs` for `host`, trusting the test certificate (or not). */
const tlsChild = (host: string, target: string, trust: boolean, kind: "download" | "upload" = "download") =>
  Effect.async<
    { tag: string; message?: string; size?: number; same: boolean; seen: Array<{ path?: string; method?: string; connection: string; authorized: boolean }> },
    Error
  >(
    (resume) => {
      const fixtures = fileURLToPath(new URL("./fixtures/", import.meta.url))
      const env = { ...process.env, NODE_EXTRA_CA_CERTS: trust ? path.join(fixtures, "tls-cert.pem") : "" }
      const proc = execFile(process.execPath, [path.join(fixtures, `tls-${kind}-child.mjs`), host, target], { env, timeout: 60_000 }, (error, stdout, stderr) => {
        if (error) return resume(Effect.fail(new Error(`${error.message}\n${stderr}`)))
        resume(Effect.succeed(JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}")))
      })
      return Effect.sync(() => proc.kill("SIGKILL"))
    }
  )

layer(NodeContext.layer)("NodeHttp over https", (it) => {
  for (const host of ["localhost", "127.0.0.1"]) {
    it.effect(`a trusted certificate for ${host}: the record and the content over TLS, byte-exact, on connections of their own`, () =>
      live(Effect.gen(function*() {
        const target = path.join(yield* tempDir, "out.bin")
        const r = yield* tlsChild(host, target, true)
        expect(r).toMatchObject({ tag: "ok", size: 3 * MiB + 11, same: true })
        expect(r.seen.map((s) => [s.path?.endsWith("/blob"), s.connection, s.authorized])).toEqual([[false, "close", true], [true, "close", true]])
      })))
  }

  it.effect("an upload over TLS: every request on a connection of its own, a cut PATCH resumed after a HEAD, byte-exact", () =>
    live(Effect.gen(function*() {
      const r = yield* tlsChild("localhost", path.join(yield* tempDir, "up.bin"), true, "upload")
      expect(r).toMatchObject({ tag: "ok", size: 3 * MiB + 11, same: true })
      expect(r.seen.map((s) => [s.method, s.connection, s.authorized])).toEqual(
        ["POST", "PATCH", "PATCH", "HEAD", "PATCH", "PATCH", "GET"].map((m) => [m, "close", true])
      )
    })))

  it.effect("an untrusted certificate is refused: TransportError without the token, nothing written", () =>
    live(Effect.gen(function*() {
      const dir = yield* tempDir
      const r = yield* tlsChild("localhost", path.join(dir, "out.bin"), false)
      expect(r.tag).toBe("TransportError")
      expect(r.message).toMatch(/certificate/)
      expect(r.message).not.toContain("tls-token")
      expect(r.seen).toEqual([])
      expect(fs.readdirSync(dir)).toEqual([])
    })))
})
