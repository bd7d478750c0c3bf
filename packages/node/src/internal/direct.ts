/**
 * One HTTP/1.1 request on its own connection (`node:net`, or `node:tls` for https), for transfers (a download's
 * `GET`s; an upload's `POST`, `PATCH`es, `HEAD`s and record read). The request body (bytes in memory, or an
 * iterable whose buffers are written one at a time, each flushed before the next is asked for) goes straight to the
 * socket. The socket reads straight into 1 MiB slabs (`onread` with a buffer per read), and the response body is
 * handed out as views of them — no per-read allocation, no Node or Web stream, no WebAssembly parser. A slab is
 * never written again after a view of it is handed out (the next read goes after it, or into a fresh slab), so
 * every piece is the consumer's to keep. The body is framed by `Content-Length`, `Transfer-Encoding: chunked` or
 * the connection's end, checked: a connection that ends before the announced length or the last chunk fails the
 * body. The connection is closed once the body is complete (`Connection: close`); it is never reused, so a request
 * never meets a kept-alive connection its server has just closed.
 */
import * as net from "node:net"
import * as tls from "node:tls"
import * as Context from "effect/Context"

/** How much the socket reads into one slab; a read needs at least {@link minRoom} left, else a fresh slab. */
const slabBytes = 1024 * 1024
const minRoom = 64 * 1024
/** The longest status line + headers accepted. */
const maxHead = 64 * 1024
/** The longest chunk-size line (extensions included) accepted. */
const maxChunkLine = 4096
/** Read-ahead (bytes not yet taken by the consumer) above which the socket stops reading. */
const highWater = 2 * slabBytes

/**
 * Slabs used again within one download whose consumer says when it is done with each piece (`downloadToFile`, once
 * a piece is written): a slab the socket has moved past goes back to the free list when the piece ending where its
 * reads ended is done — pieces are handed out and done in order, so every earlier piece of it is done too. Memory
 * read into afresh costs page faults, and slabs that outlive a scavenge make V8 run full GCs (BENCHMARKS.md).
 */
export class Slabs {
  private readonly free: Array<Buffer> = []
  /** Slabs the socket has moved past, with the end of their last read. */
  private readonly retired = new Map<ArrayBufferLike, { readonly slab: Buffer; readonly end: number }>()
  /** A slab to read into. */
  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(slabBytes)
  }
  /** The socket read `slab` up to `end` and moves on. */
  retire(slab: Buffer, end: number): void {
    this.retired.set(slab.buffer, { slab, end })
  }
  /** The consumer is done with `piece` (and every piece before it). */
  done(piece: Uint8Array): void {
    const entry = this.retired.get(piece.buffer)
    if (entry === undefined || entry.slab.byteOffset + entry.end !== piece.byteOffset + piece.length) return
    this.retired.delete(piece.buffer)
    if (this.free.length < 16) this.free.push(entry.slab)
  }
}

/** The slabs the direct `GET`s of the current fiber read into (set by `downloadToFile`, which gives pieces back). */
export class CurrentSlabs extends Context.Reference<CurrentSlabs>()("@ivcap/node/NodeHttp/CurrentSlabs", {
  defaultValue: (): Slabs | undefined => undefined
}) {}

/** A body as an async iterable of pieces the consumer keeps; `return()` (or {@link DirectBody.close}) closes the connection. */
export interface DirectBody extends AsyncIterableIterator<Uint8Array> {
  /** Closes the connection (idempotent); a pending read ends. */
  readonly close: () => void
}

/** A response: status, headers (names lower-case, in order) and the body. */
export interface DirectResponse {
  readonly status: number
  readonly headers: ReadonlyArray<readonly [string, string]>
  readonly body: DirectBody
}

/** Why the request or its body failed (messages never include request headers). */
export class DirectError extends Error {
  override readonly name = "DirectError"
}

/** A request body: `length` bytes, in memory or as an iterable of buffers (each done with once the next is asked for). */
export interface DirectRequestBody {
  readonly length: number
  readonly bytes: Uint8Array | AsyncIterable<Uint8Array>
}

const invalidHeader = /[\0\r\n]/

const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** The request head, refusing a method, header names or values that would split it. */
const requestHead = (method: string, url: URL, headers: Readonly<Record<string, string>>, length: number | undefined): string => {
  if (!token.test(method)) throw new DirectError(`invalid request method ${JSON.stringify(method.slice(0, 20))}`)
  let head = `${method} ${url.pathname}${url.search} HTTP/1.1\r\nhost: ${url.host}\r\n`
  for (const name in headers) {
    const lower = name.toLowerCase()
    if (lower === "host" || lower === "connection" || lower === "content-length" || lower === "transfer-encoding") continue
    const value = headers[name]!
    if (invalidHeader.test(name) || invalidHeader.test(value) || name.includes(":")) throw new DirectError(`invalid request header ${JSON.stringify(name)}`)
    head += `${name}: ${value}\r\n`
  }
  if (length !== undefined) head += `content-length: ${length}\r\n`
  return `${head}connection: close\r\n\r\n`
}

/** Methods whose requests carry a body (`content-length: 0` when empty, as other clients send). */
const bodyMethods: ReadonlySet<string> = new Set(["POST", "PUT", "PATCH"])

type Framing =
  | { readonly _tag: "length"; left: number }
  | { readonly _tag: "chunked"; state: "size" | "data" | "crlf" | "trailers"; left: number; line: string }
  | { readonly _tag: "close" }

/** What {@link direct} sends. */
export interface DirectRequest {
  readonly method: string
  readonly url: URL
  /** Never logged or put in an error. */
  readonly headers: Readonly<Record<string, string>>
  readonly body?: DirectRequestBody | undefined
}

/**
 * Sends a request and resolves with the response once its head is read. `signal` aborts the connection at any
 * point, the request body's writes and the response body's reads included. With `slabs`, the socket reads into
 * slabs its consumer gives back. A request body that throws fails the request with what it threw.
 */
export const direct = (request: DirectRequest, signal?: AbortSignal, slabs?: Slabs): Promise<DirectResponse> =>
  new Promise<DirectResponse>((resolveHead, rejectHead) => {
    const { body: requestBody, method, url } = request
    const https = url.protocol === "https:"
    if (!https && url.protocol !== "http:") return rejectHead(new DirectError(`unsupported protocol ${url.protocol}`))
    let head: string
    try {
      head = requestHead(method, url, request.headers, requestBody?.length ?? (bodyMethods.has(method) ? 0 : undefined))
    } catch (e) {
      return rejectHead(e)
    }
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname
    const port = url.port === "" ? (https ? 443 : 80) : Number(url.port)

    let slab = slabs?.take() ?? Buffer.allocUnsafe(slabBytes)
    let filled = 0
    /** Head bytes read so far (the head may span reads). */
    let headBytes: Buffer | undefined
    let responded = false
    let framing: Framing | undefined
    let finished = false
    let failure: unknown
    const ready: Array<Uint8Array> = []
    let readyBytes = 0
    let waiter: { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void } | undefined
    let paused = false

    const settle = () => {
      const w = waiter
      if (w === undefined) return
      if (ready.length > 0) {
        waiter = undefined
        const piece = ready.shift()!
        readyBytes -= piece.length
        if (paused && readyBytes < highWater && !finished) {
          paused = false
          socket.resume()
        }
        w.resolve({ value: piece, done: false })
      } else if (failure !== undefined) {
        waiter = undefined
        w.reject(failure)
      } else if (finished) {
        waiter = undefined
        w.resolve({ value: undefined, done: true })
      }
    }
    const fail = (error: unknown) => {
      if (finished || failure !== undefined) return
      failure = error ?? new DirectError("failed")
      socket.destroy()
      if (!responded) rejectHead(error)
      else settle()
    }
    const complete = () => {
      if (finished) return
      finished = true
      socket.destroy()
      settle()
    }
    /** Queues a body piece, merged with the previous one when it continues it in the same slab. */
    const deliver = (piece: Uint8Array) => {
      if (piece.length === 0) return
      const last = ready[ready.length - 1]
      if (last !== undefined && last.buffer === piece.buffer && last.byteOffset + last.length === piece.byteOffset) {
        ready[ready.length - 1] = new Uint8Array(piece.buffer, last.byteOffset, last.length + piece.length)
      } else {
        ready.push(piece)
      }
      readyBytes += piece.length
      if (readyBytes >= highWater && !paused) {
        paused = true
        socket.pause()
      }
    }

    /** Body bytes as they arrive, through the framing; returns false once the body is complete. */
    const body = (data: Uint8Array): void => {
      const f = framing!
      if (f._tag === "close") return deliver(data)
      if (f._tag === "length") {
        const take = Math.min(f.left, data.length)
        deliver(data.subarray(0, take))
        f.left -= take
        if (f.left === 0) complete()
        return
      }
      let at = 0
      while (at < data.length && !finished) {
        if (f.state === "data") {
          const take = Math.min(f.left, data.length - at)
          deliver(data.subarray(at, at + take))
          at += take
          f.left -= take
          if (f.left === 0) f.state = "crlf"
          continue
        }
        // A line: the chunk size (with extensions), the CRLF after a chunk's data, or a trailer line.
        const nl = data.indexOf(10, at)
        const end = nl === -1 ? data.length : nl
        f.line += Buffer.from(data.buffer, data.byteOffset + at, end - at).toString("latin1")
        if (f.line.length > maxChunkLine) return fail(new DirectError("a chunk-size line of the response is too long"))
        at = end
        if (nl === -1) break
        at += 1
        const line = f.line.endsWith("\r") ? f.line.slice(0, -1) : f.line
        f.line = ""
        if (f.state === "crlf") {
          if (line !== "") return fail(new DirectError("malformed chunked body (no CRLF after a chunk)"))
          f.state = "size"
        } else if (f.state === "size") {
          const hex = line.split(";", 1)[0]!.trim()
          if (!/^[0-9a-f]{1,12}$/i.test(hex)) return fail(new DirectError(`malformed chunk size ${JSON.stringify(hex.slice(0, 20))}`))
          f.left = parseInt(hex, 16)
          f.state = f.left === 0 ? "trailers" : "data"
        } else if (line === "") {
          return complete()
        }
      }
    }

    /** Parses the head once it is complete; returns the offset of the body in `buf`, or -1 (more head to read). */
    const parseHead = (buf: Buffer): number => {
      const end = buf.indexOf("\r\n\r\n", 0, "latin1")
      if (end === -1) {
        if (buf.length > maxHead) fail(new DirectError("the response head is too large"))
        return -1
      }
      const lines = buf.toString("latin1", 0, end).split("\r\n")
      const status = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]!)
      if (status === null) {
        fail(new DirectError(`malformed status line ${JSON.stringify(lines[0]!.slice(0, 60))}`))
        return -1
      }
      const code = Number(status[1])
      const fields: Array<readonly [string, string]> = []
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":")
        if (colon <= 0) {
          fail(new DirectError("malformed response header line"))
          return -1
        }
        fields.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()])
      }
      // An interim answer (100 Continue, 103 Early Hints): the real one follows.
      if (code >= 100 && code < 200 && code !== 101) return end + 4
      if (code < 200 || code > 599) {
        fail(new DirectError(`unexpected status ${code}`))
        return -1
      }
      const te = fields.filter(([n]) => n === "transfer-encoding").map(([, v]) => v.toLowerCase()).join(",")
      const lengths = new Set(fields.filter(([n]) => n === "content-length").flatMap(([, v]) => v.split(",").map((s) => s.trim())))
      if (code === 204 || code === 304 || method === "HEAD") {
        framing = { _tag: "length", left: 0 }
      } else if (te !== "") {
        if (!/(?:^|,)\s*chunked\s*$/.test(te)) {
          fail(new DirectError(`unsupported transfer-encoding ${JSON.stringify(te)}`))
          return -1
        }
        framing = { _tag: "chunked", state: "size", left: 0, line: "" }
      } else if (lengths.size > 0) {
        const [only] = lengths
        if (lengths.size > 1 || !/^\d{1,15}$/.test(only!)) {
          fail(new DirectError("invalid content-length"))
          return -1
        }
        framing = { _tag: "length", left: Number(only) }
      } else {
        framing = { _tag: "close" }
      }
      responded = true
      resolveHead({ status: code, headers: fields, body: iterator })
      if (framing._tag === "length" && framing.left === 0) complete()
      return end + 4
    }

    const onRead = (n: number, buf: Buffer) => {
      filled += n
      if (failure !== undefined || finished) return
      let data: Buffer = buf.subarray(0, n)
      while (!responded) {
        const all: Buffer = headBytes === undefined ? data : Buffer.concat([headBytes, data])
        const at = parseHead(all)
        if (failure !== undefined) return
        if (at === -1) {
          // Keep the partial head (copied: the slab goes on).
          headBytes = Buffer.from(all)
          return
        }
        headBytes = undefined
        data = all.subarray(at)
        if (responded) break
        if (data.length === 0) return
      }
      if (data.length > 0 && !finished) body(data)
      settle()
    }

    const options = {
      host,
      port,
      onread: {
        buffer: () => {
          if (slabBytes - filled < minRoom) {
            slabs?.retire(slab, filled)
            slab = slabs?.take() ?? Buffer.allocUnsafe(slabBytes)
            filled = 0
          }
          return slab.subarray(filled)
        },
        callback: (n: number, buf: Uint8Array) => {
          onRead(n, buf as Buffer)
          return true
        }
      }
    }
    /** Writes the request: head and body; the body's buffers one at a time, until the response or a failure. */
    const send = () => {
      if (requestBody === undefined) return void socket.write(head)
      const { bytes } = requestBody
      if (bytes instanceof Uint8Array) {
        socket.cork()
        socket.write(head)
        socket.write(bytes)
        return void socket.uncork()
      }
      socket.write(head)
      const stopped = () => failure !== undefined || finished || responded
      // Each buffer is flushed (the write's callback) before the next is asked for: the iterable may read into it again.
      const flushed = (buffer: Uint8Array) => new Promise<void>((resolve) => socket.write(buffer, () => resolve()))
      ;(async () => {
        let sent = 0
        for await (const buffer of bytes) {
          if (stopped()) return
          sent += buffer.length
          if (sent > requestBody.length) throw new DirectError(`the request body is longer than its ${requestBody.length} bytes`)
          await flushed(buffer)
          if (stopped()) return
        }
        if (sent !== requestBody.length) throw new DirectError(`the request body ended after ${sent} of its ${requestBody.length} bytes`)
      })().catch(fail)
    }
    const socket: net.Socket = https
      ? tls.connect({ ...options, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ["http/1.1"] }, send)
      : net.connect(options, send)
    socket.setNoDelay(true)
    socket.on("error", (e) => fail(new DirectError(e.message)))
    socket.on("end", () => {
      if (framing?._tag === "close") return complete()
      if (!finished) {
        fail(
          new DirectError(
            !responded
              ? "the connection closed before a response"
              : framing?._tag === "length"
              ? `the connection closed with ${framing.left} bytes of the body missing`
              : "the connection closed before the chunked body ended"
          )
        )
      }
    })
    socket.on("close", () => {
      if (!finished && failure === undefined) fail(new DirectError("the connection closed"))
    })
    const onAbort = () => fail(new DirectError("aborted"))
    if (signal !== undefined) {
      if (signal.aborted) return onAbort()
      signal.addEventListener("abort", onAbort, { once: true })
      socket.once("close", () => signal.removeEventListener("abort", onAbort))
    }

    const close = () => {
      if (finished || failure !== undefined) return
      failure = new DirectError("closed")
      ready.length = 0
      readyBytes = 0
      socket.destroy()
      const w = waiter
      waiter = undefined
      w?.resolve({ value: undefined, done: true })
    }
    const iterator: DirectBody = {
      close,
      next: () =>
        new Promise<IteratorResult<Uint8Array>>((resolve, reject) => {
          if (waiter !== undefined) return reject(new DirectError("concurrent reads of one body"))
          waiter = { resolve, reject }
          settle()
        }),
      return: () => {
        close()
        return Promise.resolve({ value: undefined, done: true })
      },
      [Symbol.asyncIterator]() {
        return iterator
      }
    }
  })
