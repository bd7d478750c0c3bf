/**
 * The artifact content endpoint behind `data-href` (`/1/artifacts/{id}/blob`, wire doc §3.9 — the path is
 * **(inferred)** from the spec examples): tus 1.0.0 `OPTIONS`/`HEAD`/`PATCH` for uploads (wire doc §6) and `GET`
 * with `Range` for downloads (§7).
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { BlobStoreError } from "../BlobStore.js"
import { badRequest, bodyStream, drainBody, HttpFail, json, maxDrainBytes, mediaType, notFound, tooLargeResponse } from "./http.js"
import type { ArtifactRec } from "./model.js"
import { type Ctx, type Handler, param } from "./route.js"
import { etagOf } from "./wire.js"

const tusHeaders = { "tus-resumable": "1.0.0" }

class TooLarge extends Data.TaggedError("TooLarge")<Record<never, never>> {}

/** The request's token expired (or was revoked) while its body arrived (`rejectExpiredMidUpload`). */
class TokenRefused extends Data.TaggedError("TokenRefused")<Record<never, never>> {}

const findArtifact = (ctx: Ctx) => {
  const id = param(ctx, "id")
  const a = ctx.state.artifactsById.get(id)
  return a === undefined ? notFound(id, `artifact '${id}' not found`) : Effect.succeed(a)
}

/** tus: a `Tus-Resumable` other than 1.0.0 → 412 (a missing one is tolerated, as some IVCAP clients omit it). */
const checkTusVersion = (ctx: Ctx) => {
  const v = ctx.request.headers["tus-resumable"]
  return v !== undefined && v.trim() !== "1.0.0"
    ? Effect.fail(
      new HttpFail({ response: json({ message: `unsupported tus version '${v}'` }, 412, { "tus-version": "1.0.0" }) })
    )
    : Effect.void
}

/**
 * Streams the request body into the blob store at `a.offset` (holding the artifact's upload lock). The offset
 * advances with every stored chunk, so bytes received before a client disconnect are kept. Returns an error
 * response, or `undefined` when the body was stored.
 */
export const startUpload = (
  ctx: Ctx,
  a: ArtifactRec,
  start: number
): Effect.Effect<HttpServerResponse.HttpServerResponse | undefined, HttpFail> =>
  Effect.gen(function*() {
    if (ctx.state.uploading.has(a.id)) {
      return json({ message: "the upload is in use by another request" }, 423, tusHeaders)
    }
    ctx.state.uploading.add(a.id)
    const body = yield* bodyStream(ctx.request)
    const limit = a.length ?? ctx.state.maxUploadBytes
    const remaining = limit - start
    let seen = 0
    let tooLarge = false
    let dropped = 0
    const recheck = ctx.emu.internal.oauth.rejectMidUpload
    const authorization = ctx.request.headers["authorization"]
    // checked per chunk of buffers (not per buffer): the per-element overhead matters for multi-GiB bodies. Once
    // over the limit, the rest of the body is read and dropped (up to maxDrainBytes), so the client reads the 413.
    const limited = Stream.mapChunksEffect(body, (chunk): Effect.Effect<Chunk.Chunk<Uint8Array>, TooLarge | TokenRefused> => {
      let bytes = 0
      for (const b of chunk) bytes += b.length
      if (tooLarge || seen + bytes > remaining) {
        tooLarge = true
        dropped += bytes
        return dropped > maxDrainBytes ? Effect.fail(new TooLarge()) : Effect.succeed(Chunk.empty<Uint8Array>())
      }
      if (recheck && !ctx.emu.internal.authorized(authorization)) return Effect.fail(new TokenRefused())
      seen += bytes
      return Effect.succeed(chunk)
    })
    const oversized = () => {
      // nothing of an oversized body is kept
      a.offset = start
      return Effect.orDie(ctx.state.blobs.truncate(a.id, start)).pipe(
        Effect.as(tooLargeResponse(
          a.length !== undefined
            ? `the body exceeds Upload-Length ${a.length}`
            : `the upload exceeds the emulator's maximum size of ${ctx.state.maxUploadBytes} bytes`,
          tusHeaders
        ))
      )
    }
    const result = yield* ctx.state.blobs.write(a.id, start, limited, (n) => {
      a.offset += n
    }).pipe(
      Effect.flatMap(() => (tooLarge ? oversized() : Effect.succeed(undefined))),
      Effect.catchAll((e) => {
        if (e instanceof TooLarge) return oversized()
        if (e instanceof TokenRefused) {
          // what arrived while the token was valid is kept; the client resumes from the offset
          return Effect.succeed(HttpServerResponse.empty({
            status: 401,
            headers: { ...tusHeaders, "upload-offset": String(a.offset), "www-authenticate": "Bearer error=\"invalid_token\", error_description=\"The access token expired\"" }
          }))
        }
        if (e instanceof BlobStoreError) {
          return Effect.succeed(json({ message: `storage failed: ${e.message}` }, 500))
        }
        // the client went away mid-body: what was received is kept
        return Effect.succeed(json({ message: "the request body ended prematurely" }, 400, tusHeaders))
      }),
      Effect.ensuring(Effect.sync(() => {
        ctx.state.uploading.delete(a.id)
        if (a.length !== undefined && a.offset === a.length && a.completedAt === undefined) {
          a.completedAt = ctx.state.now()
        }
        ctx.state.uploadProgress(a)
      }))
    )
    return result
  })

/** `OPTIONS`: tus discovery. */
export const optionsBlob: Handler = (ctx) =>
  Effect.succeed(HttpServerResponse.empty({
    status: 204,
    headers: {
      ...tusHeaders,
      "tus-version": "1.0.0",
      "tus-extension": "creation-defer-length",
      "tus-max-size": String(ctx.state.maxUploadBytes)
    }
  }))

/** `HEAD`: `Upload-Offset`, `Upload-Length` (or `Upload-Defer-Length: 1`), `Cache-Control: no-store`. */
export const headBlob: Handler = (ctx) =>
  Effect.gen(function*() {
    const a = yield* findArtifact(ctx)
    yield* checkTusVersion(ctx)
    return HttpServerResponse.empty({
      status: 200,
      headers: {
        ...tusHeaders,
        "cache-control": "no-store",
        "upload-offset": String(a.offset),
        ...(a.length !== undefined ? { "upload-length": String(a.length) } : { "upload-defer-length": "1" }),
        ...(a.completedAt !== undefined ? { "content-length": String(a.offset), etag: etagOf(a) } : {})
      }
    })
  })

const intHeader = (ctx: Ctx, name: string) =>
  Effect.gen(function*() {
    const raw = ctx.request.headers[name]
    if (raw === undefined) return undefined
    if (!/^\d+$/.test(raw.trim())) return yield* badRequest(`header ${name} must be a non-negative integer`)
    return Number(raw)
  })

/** `PATCH`: tus chunk upload. */
export const patchBlob: Handler = (ctx) =>
  Effect.gen(function*() {
    const a = yield* findArtifact(ctx)
    yield* checkTusVersion(ctx)
    const ct = mediaType(ctx.request.headers["content-type"])
    // An empty PATCH without a Content-Type is taken (inferred): the Go CLI ends an upload of unknown length
    // (`artifact create -f -`) with exactly that, `Upload-Length` declared and no body.
    const emptyUntyped = (ct === undefined || ct === "") && ctx.request.headers["content-length"]?.trim() === "0"
    if (ct !== "application/offset+octet-stream" && !emptyUntyped) {
      return json({ message: `Content-Type must be application/offset+octet-stream, got '${ct ?? ""}'` }, 415, tusHeaders)
    }
    const offset = yield* intHeader(ctx, "upload-offset")
    if (offset === undefined) return yield* badRequest("header Upload-Offset is required")
    const newLength = yield* intHeader(ctx, "upload-length")
    if (ctx.state.uploading.has(a.id)) {
      return json({ message: "the upload is in use by another request" }, 423, tusHeaders)
    }
    if (offset !== a.offset) {
      return json(
        { message: `Upload-Offset ${offset} does not match the current offset ${a.offset}` },
        409,
        { ...tusHeaders, "upload-offset": String(a.offset) }
      )
    }
    if (newLength !== undefined) {
      if (newLength > ctx.state.maxUploadBytes) {
        yield* drainBody(ctx.request)
        return tooLargeResponse(
          `Upload-Length ${newLength} exceeds the emulator's maximum size of ${ctx.state.maxUploadBytes} bytes`,
          tusHeaders
        )
      }
      if (a.length === undefined) {
        if (newLength < a.offset) return yield* badRequest(`Upload-Length ${newLength} is below the offset ${a.offset}`)
        a.length = newLength
      } else if (newLength !== a.length) {
        return yield* badRequest(`Upload-Length ${newLength} differs from the declared length ${a.length}`)
      }
    }
    const contentLength = yield* intHeader(ctx, "content-length")
    const limit = a.length ?? ctx.state.maxUploadBytes
    if (contentLength !== undefined && offset + contentLength > limit) {
      yield* drainBody(ctx.request)
      return tooLargeResponse(
        a.length !== undefined
          ? `the body exceeds Upload-Length ${a.length}`
          : `the upload exceeds the emulator's maximum size of ${ctx.state.maxUploadBytes} bytes`,
        tusHeaders
      )
    }
    const failed = yield* startUpload(ctx, a, offset)
    if (failed !== undefined) return failed
    if (a.length !== undefined && a.offset === a.length && a.completedAt === undefined) {
      a.completedAt = ctx.state.now()
      ctx.state.uploadProgress(a)
    }
    return HttpServerResponse.empty({
      status: 204,
      headers: {
        ...tusHeaders,
        "upload-offset": String(a.offset),
        ...(a.length !== undefined ? { "upload-length": String(a.length) } : {})
      }
    })
  })

/** Parses a single `Range: bytes=…`; `undefined` = ignore the header (RFC 9110 allows it), `"unsatisfiable"`. */
const parseRange = (header: string, size: number): { start: number; end: number } | "unsatisfiable" | undefined => {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header)
  if (m === null) return undefined
  const [, a, b] = m
  if (a === "" && b === "") return undefined
  if (a === "") {
    const n = Number(b)
    if (n === 0 || size === 0) return "unsatisfiable"
    return { start: Math.max(0, size - n), end: size - 1 }
  }
  const start = Number(a)
  const end = b === "" ? size - 1 : Math.min(Number(b), size - 1)
  if (b !== "" && Number(b) < start) return undefined
  if (start >= size) return "unsatisfiable"
  return { start, end }
}

/**
 * `GET`: the content (200, or 206 for a satisfiable `Range`, 416 otherwise), with `ETag`, `Last-Modified`,
 * `Accept-Ranges`. Before the upload completed there is no content: 404 (our decision; the API does not say).
 */
export const getBlob: Handler = (ctx) =>
  Effect.gen(function*() {
    const a = yield* findArtifact(ctx)
    if (a.completedAt === undefined) {
      return yield* notFound(a.id, `content of artifact '${a.id}' is not available yet (upload incomplete)`)
    }
    const size = a.offset
    const etag = etagOf(a)
    const common = {
      etag,
      "last-modified": new Date(a.completedAt).toUTCString(),
      "accept-ranges": "bytes"
    }
    const inm = ctx.request.headers["if-none-match"]
    if (inm !== undefined && inm.split(",").map((s) => s.trim()).some((t) => t === etag || t === "*")) {
      return HttpServerResponse.empty({ status: 304, headers: common })
    }
    const contentType = a.mimeType ?? "application/octet-stream"
    const rangeHeader = ctx.request.headers["range"]
    const ifRange = ctx.request.headers["if-range"]
    // `If-Range` (RFC 9110 §13.1.5): the range only when the validator — our strong ETag, or the exact
    // Last-Modified date — still matches; otherwise the whole (changed) content with 200.
    const ifRangeMatches = ifRange === undefined || ifRange.trim() === etag || ifRange.trim() === common["last-modified"]
    const range = rangeHeader === undefined || !ifRangeMatches
      ? undefined
      : parseRange(rangeHeader, size)
    if (range === "unsatisfiable") {
      return json({ message: `range '${rangeHeader}' not satisfiable (size ${size})` }, 416, {
        ...common,
        "content-range": `bytes */${size}`
      })
    }
    const start = range?.start ?? 0
    const end = range?.end ?? size - 1
    const length = Math.max(0, end - start + 1)
    return HttpServerResponse.stream(ctx.state.blobs.read(a.id, start, start + length), {
      status: range === undefined ? 200 : 206,
      contentType,
      contentLength: length,
      headers: {
        ...common,
        "content-length": String(length),
        ...(range !== undefined ? { "content-range": `bytes ${start}-${end}/${size}` } : {})
      }
    })
  })
