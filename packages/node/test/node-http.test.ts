/**
 * `NodeHttp.layer`'s client for everything but content downloads (`node:http`), against a plain `node:http` server
 * on 127.0.0.1: an iterable upload body whose source reads into one buffer again and again arrives intact (each
 * buffer is flushed before the next is asked for) with its `content-length` and no chunked coding; the response
 * readers (`json`, `text`, `arrayBuffer`, `stream`, cookies, a 204 without a body) and keep-alive reuse; interruption
 * closes the request on the server's side; a refused connection is a `RequestError`.
 */
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { describe, expect, it } from "@effect/vitest"
import { NodeHttp } from "@ivcap/node"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

interface Seen {
  readonly method: string
  readonly url: string
  readonly headers: http.IncomingHttpHeaders
  readonly sha256: string
  readonly bytes: number
  readonly port: number
}

/** A loopback server: records each request (with its body's digest) and answers with `answer`. */
const server = (answer: (req: http.IncomingMessage, res: http.ServerResponse) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly seen: Array<Seen>; readonly closedEarly: { n: number }; readonly srv: http.Server }>((resume) => {
      const seen: Array<Seen> = []
      const closedEarly = { n: 0 }
      const srv = http.createServer((req, res) => {
        const hash = createHash("sha256")
        let bytes = 0
        req.on("data", (b: Buffer) => {
          hash.update(b)
          bytes += b.length
        })
        req.on("close", () => {
          if (!req.complete) closedEarly.n++
        })
        req.on("end", () => {
          seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, sha256: hash.digest("hex"), bytes, port: req.socket.remotePort ?? 0 })
          answer(req, res)
        })
      })
      srv.listen(0, "127.0.0.1", () => resume(Effect.succeed({ url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, seen, closedEarly, srv })))
    }),
    ({ srv }) =>
      Effect.async<void>((resume) => {
        srv.closeAllConnections()
        srv.close(() => resume(Effect.void))
      })
  )

const client = Effect.provide(HttpClient.HttpClient, NodeHttp.layer)

describe("NodeHttp (node:http)", () => {
  it.scoped("an iterable body read into one reused buffer arrives intact, with its content-length and no chunked coding", () =>
    Effect.gen(function*() {
      const { seen, url } = yield* server((_req, res) => res.writeHead(204).end())
      // 24 MiB through ONE 1 MiB buffer, overwritten as soon as the next piece is asked for.
      const pieces = 24
      const buffer = Buffer.alloc(1024 * 1024)
      const expected = createHash("sha256")
      const body: AsyncIterable<Uint8Array> = {
        async *[Symbol.asyncIterator]() {
          for (let i = 0; i < pieces; i++) {
            buffer.fill(i * 7 + 1)
            expected.update(buffer)
            yield buffer
          }
        }
      }
      const http_ = yield* client
      const response = yield* http_.execute(
        HttpClientRequest.patch(`${url}/upload`).pipe(
          HttpClientRequest.setBody(HttpBody.raw(body, { contentType: "application/offset+octet-stream", contentLength: pieces * buffer.length }))
        )
      )
      expect(response.status).toBe(204)
      expect(seen).toHaveLength(1)
      expect(seen[0]!.bytes).toBe(pieces * buffer.length)
      expect(seen[0]!.sha256).toBe(expected.digest("hex"))
      expect(seen[0]!.headers["content-length"]).toBe(String(pieces * buffer.length))
      expect(seen[0]!.headers["content-type"]).toBe("application/offset+octet-stream")
      expect(seen[0]!.headers["transfer-encoding"]).toBeUndefined()
    }))

  it.scoped("responses: json, text, arrayBuffer, stream, cookies, a 204 without a body; connections are reused", () =>
    Effect.gen(function*() {
      const big = Buffer.alloc(3 * 1024 * 1024, 97)
      const { seen, url } = yield* server((req, res) => {
        if (req.url === "/json") res.writeHead(200, { "content-type": "application/json", "set-cookie": ["a=1; Path=/", "b=2"] }).end(JSON.stringify({ ok: true, n: 3 }))
        else if (req.url === "/big") res.writeHead(200).end(big)
        else if (req.url === "/chunked") {
          res.writeHead(200)
          res.write("abc")
          res.end("def")
        } else res.writeHead(204).end()
      })
      const http_ = yield* client
      const json = yield* http_.execute(HttpClientRequest.get(`${url}/json`))
      expect(yield* json.json).toEqual({ ok: true, n: 3 })
      expect(yield* json.text, "a second reader gets the same body").toBe("{\"ok\":true,\"n\":3}")
      expect(json.cookies.cookies["a"]?.value).toBe("1")
      expect(json.cookies.cookies["b"]?.value).toBe("2")
      const bytes = new Uint8Array(yield* (yield* http_.execute(HttpClientRequest.get(`${url}/big`))).arrayBuffer)
      expect(bytes.length).toBe(big.length)
      expect(Buffer.from(bytes).equals(big)).toBe(true)
      const streamed = yield* Stream.runCollect((yield* http_.execute(HttpClientRequest.get(`${url}/chunked`))).stream)
      expect(Buffer.concat(Chunk.toReadonlyArray(streamed)).toString()).toBe("abcdef")
      const empty = yield* http_.execute(HttpClientRequest.post(`${url}/empty`).pipe(HttpClientRequest.bodyText("x")))
      expect(empty.status).toBe(204)
      expect(yield* empty.text).toBe("")
      const again = yield* http_.execute(HttpClientRequest.get(`${url}/json`))
      yield* again.json
      expect(new Set(seen.map((s) => s.port)).size, "keep-alive: fewer connections than requests").toBeLessThan(seen.length)
    }))

  it.scopedLive("interrupting a request closes it on the server's side", () =>
    Effect.gen(function*() {
      const { closedEarly, url } = yield* server(() => {})
      const body: AsyncIterable<Uint8Array> = {
        async *[Symbol.asyncIterator]() {
          yield Buffer.alloc(1024)
          await new Promise((resolve) => setTimeout(resolve, 60_000))
        }
      }
      const http_ = yield* client
      const fiber = yield* Effect.fork(http_.execute(
        HttpClientRequest.put(`${url}/slow`).pipe(HttpClientRequest.setBody(HttpBody.raw(body, { contentLength: 4096 })))
      ))
      yield* Effect.sleep("200 millis")
      yield* Fiber.interrupt(fiber)
      yield* Effect.sleep("200 millis")
      expect(closedEarly.n).toBe(1)
    }))

  it.effect("a refused connection is a RequestError (Transport)", () =>
    Effect.gen(function*() {
      const http_ = yield* client
      const exit = yield* Effect.exit(http_.execute(HttpClientRequest.get("http://127.0.0.1:9/nothing-listens-here")))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain("Transport")
    }))
})
