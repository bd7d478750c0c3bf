/**
 * The `HttpClient` under `@ivcap/node`'s layers: `node:http` / `node:https` with keep-alive agents, requests sent as
 * they are (a plain `AsyncIterable` body — how the tus engine hands over a file source's buffers — written buffer by
 * buffer, waiting for `drain`), and responses that read the `IncomingMessage` directly: `arrayBuffer`/`text`/`json`
 * collect its buffers, `stream` iterates it. Node's HTTP parser is native; undici's is WebAssembly, whose optimising
 * compile at the first request raised a process's peak RSS by ~35 MiB (BENCHMARKS.md, "Upload"). The platform's own
 * `node:http` client forks a fiber per request and reads bodies through Effect streams, which cost about half again
 * a listing's client CPU here; this one costs no more than undici's.
 *
 * Spans, interruption (the request is aborted) and responses never read (aborted once collected) come from
 * `HttpClient.make`, as for the platform's clients. A `Stream` or `FormData` body goes to the platform's `node:http`
 * client, which sends those.
 */
import * as Cookies from "@effect/platform/Cookies"
import * as Headers from "@effect/platform/Headers"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as UrlParams from "@effect/platform/UrlParams"
import * as Effect from "effect/Effect"
import * as Inspectable from "effect/Inspectable"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as http from "node:http"
import * as https from "node:https"
import { Readable } from "node:stream"

/** Keep-alive agents, one pair per client (idle sockets do not keep the process alive; closed with the layer). */
export interface Agents {
  readonly http: http.Agent
  readonly https: https.Agent
}

/**
 * Idle connections are closed after 4 s (as undici does), or just before the server's own `Keep-Alive: timeout`
 * (Node reads it), so that a request rarely goes out on a connection the server is closing: that would be a
 * `TransportError`, which a non-idempotent request (a `POST`) does not retry. An active request is not limited by it.
 */
const agentOptions = { keepAlive: true, timeout: 4_000 }

/** A pair of keep-alive agents. */
export const makeAgents = (): Agents => ({ http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) })

/** Whether a raw body is a plain async iterable of bytes (not a Web stream, which `node:http` cannot write). */
const isAsyncIterable = (body: unknown): body is AsyncIterable<Uint8Array> =>
  typeof body === "object" && body !== null && typeof (body as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === "function" &&
  !(body instanceof ReadableStream)

/** Whether this client sends `body` itself (else the platform's `node:http` client does). */
export const sends = (body: HttpClientRequest.HttpClientRequest["body"]): boolean =>
  body._tag === "Empty" || body._tag === "Uint8Array" ||
  (body._tag === "Raw" && (typeof body.body === "string" || body.body instanceof Uint8Array || isAsyncIterable(body.body)))

/** Writes `bytes` and resolves once they are flushed to the socket, or the request is closed (the writer then stops). */
const flushed = (request: http.ClientRequest, bytes: Uint8Array): Promise<void> =>
  new Promise<void>((resolve) => {
    const done = () => {
      request.off("close", done)
      resolve()
    }
    request.once("close", done)
    request.write(bytes, done)
  })

/**
 * Writes the buffers of `body`, each flushed to the socket before the next is asked for (so a source may read into
 * the same buffers again: `UploadSource.IterableBody`). Leaving the loop (a closed request) closes the body's
 * iterator, and the file it reads.
 */
const pump = async (request: http.ClientRequest, body: AsyncIterable<Uint8Array>): Promise<void> => {
  for await (const bytes of body) {
    if (request.destroyed) return
    await flushed(request, bytes)
  }
  request.end()
}

const decoder = new TextDecoder()

/** Statuses and methods whose responses have no body. */
const bodyless = (method: string, status: number) => method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200)

/** A `node:http` response as the platform's `HttpClientResponse`. The body is read once, by whichever reader comes first. */
class NodeResponse extends Inspectable.Class implements HttpClientResponse.HttpClientResponse {
  readonly [HttpClientResponse.TypeId]: HttpClientResponse.TypeId = HttpClientResponse.TypeId
  readonly [HttpIncomingMessage.TypeId]: HttpIncomingMessage.TypeId = HttpIncomingMessage.TypeId
  readonly status: number
  readonly headers: Headers.Headers
  private bytes: Effect.Effect<Uint8Array, HttpClientError.ResponseError> | undefined

  constructor(readonly request: HttpClientRequest.HttpClientRequest, private readonly message: http.IncomingMessage) {
    super()
    this.status = message.statusCode ?? 0
    this.headers = Headers.fromInput(message.headers as Record<string, string | ReadonlyArray<string> | undefined>)
    // The readers listen for errors themselves; this keeps one that comes while nobody reads from being unhandled.
    message.on("error", () => {})
    // A body-less answer is drained at once, which hands the connection back to the agent.
    if (bodyless(request.method, this.status)) message.resume()
  }

  private error = (cause: unknown) => new HttpClientError.ResponseError({ request: this.request, response: this, reason: "Decode", cause })

  get remoteAddress(): Option.Option<string> {
    return Option.fromNullable(this.message.socket?.remoteAddress)
  }

  get cookies(): Cookies.Cookies {
    const header = this.message.headers["set-cookie"]
    return header === undefined ? Cookies.empty : Cookies.fromSetCookie(header)
  }

  /** The whole body, collected once (later readers get the same bytes). */
  private get body(): Effect.Effect<Uint8Array, HttpClientError.ResponseError> {
    this.bytes ??= Effect.cached(Effect.async<Uint8Array, HttpClientError.ResponseError>((resume) => {
      const message = this.message
      const parts: Array<Buffer> = []
      let size = 0
      const onData = (part: Buffer) => {
        parts.push(part)
        size += part.length
      }
      const onEnd = () => {
        cleanup()
        resume(Effect.succeed(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size)))
      }
      const onError = (cause: Error) => {
        cleanup()
        resume(Effect.fail(this.error(cause)))
      }
      const onClose = () => {
        if (!message.complete) onError(new Error("the connection closed before the response body ended"))
      }
      const cleanup = () => {
        message.off("data", onData)
        message.off("end", onEnd)
        message.off("error", onError)
        message.off("close", onClose)
      }
      if (message.readableEnded) return resume(Effect.succeed(new Uint8Array(0)))
      message.on("data", onData)
      message.once("end", onEnd)
      message.once("error", onError)
      message.once("close", onClose)
      return Effect.sync(() => {
        cleanup()
        message.destroy()
      })
    })).pipe(Effect.runSync)
    return this.bytes
  }

  get arrayBuffer(): Effect.Effect<ArrayBuffer, HttpClientError.ResponseError> {
    return Effect.map(this.body, (bytes) =>
      bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
        ? bytes.buffer as ArrayBuffer
        : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer)
  }

  get text(): Effect.Effect<string, HttpClientError.ResponseError> {
    return Effect.map(this.body, (bytes) => decoder.decode(bytes))
  }

  get json(): Effect.Effect<unknown, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) => Effect.try({ try: () => (text === "" ? null : JSON.parse(text)), catch: this.error }))
  }

  get urlParamsBody(): Effect.Effect<UrlParams.UrlParams, HttpClientError.ResponseError> {
    return Effect.flatMap(this.text, (text) => Effect.try({ try: () => UrlParams.fromInput(new URLSearchParams(text)), catch: this.error }))
  }

  get formData(): Effect.Effect<FormData, HttpClientError.ResponseError> {
    return Effect.tryPromise({
      try: () => new Response(Readable.toWeb(this.message) as ReadableStream<Uint8Array>, { status: this.status, headers: this.headers }).formData(),
      catch: this.error
    })
  }

  get stream(): Stream.Stream<Uint8Array, HttpClientError.ResponseError> {
    return Stream.fromAsyncIterable<Uint8Array, HttpClientError.ResponseError>(this.message, this.error)
  }

  toJSON(): unknown {
    return { _id: "@effect/platform/HttpClientResponse", request: this.request.toJSON(), status: this.status }
  }
}

/**
 * The client: `fallback` (the platform's `node:http` client) sends the bodies this one does not (`Stream`,
 * `FormData`).
 */
export const make = (agents: Agents, fallback: HttpClient.HttpClient): HttpClient.HttpClient => {
  const direct = HttpClient.make((request, url, signal) =>
    Effect.async<HttpClientResponse.HttpClientResponse, HttpClientError.HttpClientError>((resume) => {
      const https_ = url.protocol === "https:"
      let outgoing: http.ClientRequest
      try {
        outgoing = (https_ ? https : http).request(url, { method: request.method, headers: request.headers, agent: https_ ? agents.https : agents.http, signal })
      } catch (cause) {
        // An invalid header name or value (`node:http` checks them before sending anything).
        return resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause })))
      }
      // One answer: the response, or the first error before it (a later error fails the body's reader instead). The
      // listener stays, so that no error of the request is ever unhandled.
      let answered = false
      outgoing.once("response", (message) => {
        answered = true
        resume(Effect.succeed(new NodeResponse(request, message)))
      })
      outgoing.on("error", (cause) => {
        if (answered) return
        answered = true
        resume(Effect.fail(new HttpClientError.RequestError({ request, reason: "Transport", cause })))
      })
      const body = request.body
      if (body._tag === "Empty") outgoing.end()
      else if (body._tag === "Uint8Array") outgoing.end(body.body)
      else if (body._tag === "Raw" && isAsyncIterable(body.body)) {
        pump(outgoing, body.body).catch((cause: unknown) => outgoing.destroy(cause instanceof Error ? cause : new Error(String(cause))))
      } else if (body._tag === "Raw") outgoing.end(body.body as string | Uint8Array)
    })
  )
  return HttpClient.makeWith<never, never, HttpClientError.HttpClientError, never>(
    (request) => Effect.flatMap(request, (req) => (sends(req.body) ? direct.execute(req) : fallback.execute(req))),
    Effect.succeed
  )
}
