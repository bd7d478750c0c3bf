/** `/1/artifacts`: list, read, create (the tus upload that follows is in `../tus.ts`). */
import * as Effect from "effect/Effect"
import * as SeedData from "../../SeedData.js"
import { badRequest, drainBody, json, mediaType, notFound, tooLargeResponse } from "../http.js"
import { pageRequest, simpleList } from "../listing.js"
import type { ArtifactRec } from "../model.js"
import { artifactStatus } from "../model.js"
import { type Ctx, type Handler, param } from "../route.js"
import { materialise } from "./orders.js"
import { startUpload } from "../tus.js"
import { base64ToBytes, formatTime, fromUtf8, randomUuid } from "../util.js"
import * as Wire from "../wire.js"

/** `GET /1/artifacts` → `ArtifactListRT`. */
export const listArtifacts: Handler = (ctx) =>
  Effect.gen(function*() {
    yield* materialise(ctx)
    const req = yield* pageRequest(ctx.q, "artifacts")
    const { atTime, items, links } = yield* simpleList<ArtifactRec>({
      kind: "artifacts",
      path: "/1/artifacts",
      schema: "ArtifactListRT",
      records: ctx.state.artifacts,
      seq: (a) => a.seq,
      visibleAt: (a, t) => a.createdAt <= t,
      fields: () => ({
        id: (a) => a.id,
        name: (a) => a.name,
        status: (a) => artifactStatus(a),
        mime_type: (a) => a.mimeType,
        size: (a) => (a.completedAt !== undefined ? a.offset : undefined),
        collection: (a) => a.collection,
        policy: (a) => a.policy,
        created_at: (a) => formatTime(a.createdAt)
      }),
      defaultOrder: "created_at",
      render: (a) => Wire.artifactListItem(a, ctx.base)
    }, req, ctx.state.now(), ctx.state.seq, ctx.base, ctx.request.url)
    return json({ "at-time": formatTime(atTime), items, links })
  })

/** `GET /1/artifacts/{id}` → `ArtifactStatusRT`. */
export const readArtifact: Handler = (ctx) =>
  Effect.gen(function*() {
    yield* materialise(ctx)
    const id = param(ctx, "id")
    const a = ctx.state.artifactsById.get(id)
    if (a === undefined) return yield* notFound(id, `artifact '${id}' not found`)
    return json(Wire.artifactStatusWire(a, ctx.base))
  })

/** An integer header (`-1` allowed where `allowMinusOne`); 400 otherwise. */
const intHeader = (ctx: Ctx, name: string, allowMinusOne: boolean) =>
  Effect.gen(function*() {
    const raw = ctx.request.headers[name.toLowerCase()]
    if (raw === undefined || raw.trim() === "") return undefined
    if (!/^[+-]?\d+$/.test(raw.trim())) return yield* badRequest(`header ${name} must be an integer, got '${raw}'`)
    const n = Number(raw)
    if (n < (allowMinusOne ? -1 : 0) || !Number.isSafeInteger(n)) {
      return yield* badRequest(`header ${name} must be ${allowMinusOne ? ">= -1" : ">= 0"}, got '${raw}'`)
    }
    return n
  })

/**
 * `POST /1/artifacts`: creates the record from `X-Content-Type`, `X-Content-Length` (−1 = length deferred),
 * base64 `X-Name`, `X-Collection`, `X-Policy` (or `Upload-Length` / `Content-Type`); a request body, if any, is
 * stored as the first bytes (one-shot upload). 201 + `ArtifactStatusRT`, `Location` (the record **(inferred)**),
 * `Tus-Resumable: 1.0.0`, `Upload-Offset`.
 */
export const createArtifact: Handler = (ctx) =>
  Effect.gen(function*() {
    const h = ctx.request.headers
    const xLength = yield* intHeader(ctx, "X-Content-Length", true)
    const uploadLength = yield* intHeader(ctx, "Upload-Length", false)
    const length = xLength !== undefined && xLength >= 0 ? xLength : xLength === -1 ? undefined : uploadLength
    if (length !== undefined && length > ctx.state.maxUploadBytes) {
      yield* drainBody(ctx.request)
      return tooLargeResponse(`the artifact's length ${length} exceeds the emulator's maximum size of ${ctx.state.maxUploadBytes} bytes`)
    }
    let name: string | undefined
    if (h["x-name"] !== undefined && h["x-name"] !== "") {
      const bytes = base64ToBytes(h["x-name"])
      name = bytes === undefined ? undefined : fromUtf8(bytes)
      if (name === undefined) return yield* badRequest("header X-Name must be base64-encoded UTF-8")
    }
    const collection = h["x-collection"]
    if (collection !== undefined && !collection.startsWith("urn:")) {
      return yield* badRequest("header X-Collection must be a URN (urn:...)")
    }
    const policy = h["x-policy"]
    if (policy !== undefined && !policy.startsWith("urn:ivcap:policy:")) {
      return yield* badRequest("header X-Policy must be a policy URN (urn:ivcap:policy:...)")
    }
    const contentType = mediaType(h["content-type"])
    const hasBody = (h["content-length"] !== undefined && h["content-length"] !== "0") ||
      h["transfer-encoding"] !== undefined
    const mimeType = h["x-content-type"] ??
      (contentType !== undefined && contentType !== "application/offset+octet-stream" ? h["content-type"] : undefined)
    const now = ctx.state.now()
    // an empty record starts `pending` (inferred, wire doc §6.5)
    const rec: ArtifactRec = {
      seq: ctx.state.nextSeq(),
      id: `urn:ivcap:artifact:${randomUuid()}`,
      account: SeedData.account,
      ...(name !== undefined ? { name } : {}),
      ...(mimeType !== undefined && mimeType !== "" ? { mimeType } : {}),
      ...(collection !== undefined ? { collection } : {}),
      policy: policy ?? SeedData.defaultPolicy,
      createdAt: now,
      length,
      offset: 0,
      // a zero-length upload is complete at creation (tus: offset == length)
      ...(length === 0 ? { completedAt: now } : {})
    }
    ctx.state.addArtifact(rec)
    if (hasBody && length !== 0) {
      const r = yield* startUpload(ctx, rec, 0)
      if (r !== undefined) return r
    }
    return json(Wire.artifactStatusWire(rec, ctx.base), 201, {
      location: Wire.artifactHref(ctx.base, rec.id),
      "tus-resumable": "1.0.0",
      "upload-offset": String(rec.offset)
    })
  })
