/**
 * Uploading artifact content: create the record (`POST /1/artifacts`, wire doc §6.1), send the bytes with the tus
 * 1.0.0 core protocol to its `data-href` (§6.2), read the finished record back. Covers the Python client's
 * `IVCAP.upload_artifact` and the CLI's `artifact create` / `artifact upload ID` (resume), and fixes what they lack:
 *
 * - memory is bounded by the chunk size (a file is streamed from disk, 1 MiB at a time), never the file size;
 * - a failed chunk is followed by `HEAD` for the server's offset and the upload goes on from there, under a
 *   `Schedule` (default {@link defaultRetrySchedule}, restarted whenever the server confirms progress);
 * - with an upload store (an `UploadStore`, or any `KeyValueStore`, in context — the node and browser layers
 *   provide one), uploading the same source again after a crash or in a new process resumes
 *   the unfinished upload; {@link resume} continues one by artifact id;
 * - progress is data ({@link uploadWithProgress}, or `onProgress`), "confirmed" only from server offsets;
 * - interrupting the fiber aborts the request in flight and any back-off, and the upload stays resumable;
 * - the bearer token goes only to the configured origin: a `data-href` on another host is replaced by the base URL
 *   with its path (as the newer Python client does).
 *
 * @example
 * Effect.flatMap(UploadSource.fromFile("scan.tif"), (source) => Upload.upload(source, { policy: "urn:ivcap:policy:ivcap.open.artifact" }))
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Artifact from "./Artifact.js"
import { contentUrl, contentUrlOf } from "./internal/dataHref.js"
import * as Http from "./internal/http.js"
import { defaultContentType } from "./internal/mime.js"
import * as Paths from "./internal/paths.js"
import * as Tus from "./internal/tus.js"
import { IvcapClient } from "./IvcapClient.js"
import type { RequestTimeout, TransportError } from "./IvcapError.js"
import { InvalidArgument } from "./IvcapError.js"
import type { UploadSource } from "./UploadSource.js"
import * as UploadStore from "./UploadStore.js"
import * as Urn from "./Urn.js"

/**
 * The server's offset is not one the upload can continue from: behind what it confirmed before (bytes lost), beyond
 * the upload's length, or outside the bytes just sent.
 *
 * @since 0.1.0
 */
export class UploadOffsetMismatch extends /*#__PURE__*/ Schema.TaggedError<UploadOffsetMismatch>()("UploadOffsetMismatch", {
  url: Schema.String,
  /** The offset the server confirmed before. */
  confirmed: Schema.Number,
  /** The offset the server reports now. */
  server: Schema.Number,
  /** The upload's length, when known. */
  length: Schema.optional(Schema.Number),
  message: Schema.String
}) {}

/**
 * How far an upload is, in absolute byte offsets of the content (not bytes of this run): `sent` bytes handed to
 * the connection, `confirmed` bytes the server said it stored (only ever from a server's `Upload-Offset`, never
 * going down), out of `total` (`Option.none()` until a stream of unknown size ends). A resumed upload's first
 * event has `sent = confirmed =` the offset it resumed from. Events come at the start (or after each `HEAD`),
 * for every piece of a chunk handed to the connection (about every 1 MiB for file sources, once per chunk for
 * in-memory ones), and when the server confirms a chunk; `sent` falls back to `confirmed` after a failure.
 *
 * @since 0.1.0
 */
export class Progress extends /*#__PURE__*/ Data.TaggedClass("Progress")<{
  readonly sent: number
  readonly confirmed: number
  readonly total: Option.Option<number>
}> {}

/** The last event of {@link uploadWithProgress}: the finished artifact. @since 0.1.0 */
export class Completed extends Data.TaggedClass("Completed")<{ readonly artifact: Artifact.ArtifactDetails }> {}

/** An event of {@link uploadWithProgress}. @since 0.1.0 */
export type UploadEvent = Progress | Completed

/**
 * The default chunk size (bytes per PATCH): 8 MiB, chosen by measurement (see BENCHMARKS.md). A file source
 * streams each chunk from disk, so memory does not grow with it, and its chunks grow from this size (see
 * {@link maxChunkSize}); a `Blob` or one-pass `Stream` source holds one chunk in memory, and a failure may re-send
 * up to one chunk. (The CLI's default is 10 MB.)
 *
 * @since 0.1.0
 */
export const defaultChunkSize = 8 * 1024 * 1024

/**
 * The largest chunk an upload grows to when no `chunkSize` is given: 256 MiB. Only chunks read while they are sent
 * (files) grow, as their memory does not depend on the chunk size: the first is {@link defaultChunkSize}, and each
 * chunk the server confirms whole within {@link growWithin} doubles the next, so a fast link sends a GiB in about
 * eight requests while a slow one keeps requests of a few seconds (a cut then re-sends little, even through a
 * proxy that buffers whole request bodies). A failed chunk halves the next, down to the first size.
 *
 * @since 0.2.0
 */
export const maxChunkSize = 256 * 1024 * 1024

/**
 * How quickly the server must confirm a whole chunk for the next one to double (see {@link maxChunkSize}): 2 s.
 *
 * @since 0.2.0
 */
export const growWithin: Duration.Duration = /*#__PURE__*/ Duration.seconds(2)

/**
 * The smallest chunk size accepted: 64 KiB. Smaller chunks make a large upload absurdly long (a 10 GiB file in
 * 1 KiB chunks is ten million requests), so `upload`/`resume` refuse them with `InvalidArgument` before any request.
 * The same figure is the least a PATCH must confirm (or the rest of the source, if less) to count as progress:
 * a server that confirms less waits on the retry schedule like a failure, so it cannot drive a tight loop.
 *
 * @since 0.1.0
 */
export const minimumChunkSize = 64 * 1024

/**
 * The default wait between a failed chunk and the `HEAD` that follows: exponential from 500 ms (×2, jittered),
 * each wait at most 15 s, at most 8 in a row without progress (about a minute). A `Retry-After` lengthens a wait.
 *
 * @since 0.1.0
 */
export const defaultRetrySchedule: Schedule.Schedule<unknown, unknown> = Schedule.exponential("500 millis", 2).pipe(
  Schedule.jittered,
  Schedule.union(Schedule.spaced("15 seconds")),
  Schedule.intersect(Schedule.recurs(8))
)

/** The artifact record to create. @since 0.1.0 */
export interface CreateOptions {
  /** The artifact's name (sent base64-encoded in `X-Name`). */
  readonly name?: string | undefined
  /** `X-Content-Type`; default `application/octet-stream`. */
  readonly contentType?: string | undefined
  /** The content size in bytes; absent = unknown (`X-Content-Length: -1`). */
  readonly size?: number | undefined
  /**
   * A collection URN to add the artifact to, sent as `X-Collection` (as the Python client does). Whether a deployment
   * records it as a membership is not documented (the emulator does not): `Collection.upload` also adds one.
   */
  readonly collection?: Urn.Urn | string | undefined
  /** The access policy (`X-Policy`, `urn:ivcap:policy:…`). */
  readonly policy?: Urn.PolicyUrn | string | undefined
}

/** How content is sent. @since 0.1.0 */
export interface SendOptions {
  /**
   * Bytes per PATCH, at least {@link minimumChunkSize}. Default: {@link defaultChunkSize}, growing up to
   * {@link maxChunkSize} for sources read while they are sent (files) over a link that confirms chunks quickly.
   * A given size is used for every chunk.
   */
  readonly chunkSize?: number | undefined
  /** Waits between a failure and the `HEAD` that follows; default {@link defaultRetrySchedule}. */
  readonly retry?: Schedule.Schedule<unknown, unknown> | undefined
  /** Called on every change of progress. */
  readonly onProgress?: ((progress: Progress) => Effect.Effect<void>) | undefined
}

/** Options of {@link upload}. Name and content type default to the source's. @since 0.1.0 */
export interface UploadOptions extends Omit<CreateOptions, "size">, SendOptions {
  /** Look for an unfinished upload of the same source in the `UploadStore` and record this one; default true. */
  readonly resume?: boolean | undefined
}

const createStatuses = [400, 403, 415, 422, 501] as const

/** The errors of {@link create}. @since 0.1.0 */
export type CreateError = Http.StatusError<(typeof createStatuses)[number]> | InvalidArgument | TransportError | RequestTimeout

/** The errors of sending content (after the record exists). @since 0.1.0 */
export type SendError = Tus.SendError | InvalidArgument

/** The errors of {@link upload}. @since 0.1.0 */
export type UploadError = CreateError | SendError | Artifact.GetError

/** Bytes as a binary string, one character per byte (what `btoa` takes and `atob` gives). */
const binaryString = (bytes: Uint8Array): string => {
  let s = ""
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return s
}

/**
 * Text as the base64 of its UTF-8 bytes (`X-Name`), as `Schema.StringFromBase64` does it but with the platform's
 * `btoa`/`atob` and `TextEncoder`/`TextDecoder`, which keeps Effect's base64 codec out of browser bundles.
 */
const Utf8Base64 = /*#__PURE__*/ Schema.transformOrFail(Schema.String, Schema.String, {
  strict: true,
  decode: (text, _, ast) =>
    ParseResult.try({
      try: () => new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(text), (c) => c.charCodeAt(0))),
      catch: () => new ParseResult.Type(ast, text, "not the base64 of UTF-8 text")
    }),
  encode: (text) => ParseResult.succeed(btoa(binaryString(new TextEncoder().encode(text))))
})

/**
 * The headers of `POST /1/artifacts` (wire doc §6.1): `X-Name` is the base64 of the name's UTF-8 bytes,
 * `X-Content-Length` is `-1` for an unknown size.
 */
const CreateHeaders = /*#__PURE__*/ Schema.Struct({
  name: Schema.optional(Utf8Base64).pipe(Schema.fromKey("x-name")),
  contentType: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("x-content-type")),
  contentLength: Schema.propertySignature(Schema.NumberFromString).pipe(Schema.fromKey("x-content-length")),
  collection: Schema.optional(Schema.String).pipe(Schema.fromKey("x-collection")),
  policy: Schema.optional(Schema.String).pipe(Schema.fromKey("x-policy")),
  tusResumable: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("tus-resumable"))
})

/** The URN checks of {@link CreateOptions}. */
// A media type as a header value may carry: `type/subtype` and parameters, printable ASCII only (no CR/LF).
const mediaType = /^[A-Za-z0-9!#$&^_.+-]+\/[A-Za-z0-9!#$&^_.+-]+(\s*;[\x20-\x7e]*)?$/

const validateCreate = (options: CreateOptions) =>
  Effect.all({
    contentType: options.contentType === undefined || mediaType.test(options.contentType)
      ? Effect.succeed(options.contentType)
      : Effect.fail(new InvalidArgument({ argument: "contentType", message: `contentType must be a media type such as text/csv, got ${JSON.stringify(options.contentType)}` })),
    collection: options.collection === undefined ? Effect.succeed(undefined) : Urn.validate(Urn.Urn, "collection")(options.collection),
    policy: options.policy === undefined ? Effect.succeed(undefined) : Urn.validate(Urn.PolicyUrn, "policy")(options.policy),
    size: options.size === undefined || (Number.isSafeInteger(options.size) && options.size >= 0)
      ? Effect.succeed(options.size)
      : Effect.fail(new InvalidArgument({ argument: "size", message: `size must be a non-negative integer, got ${options.size}` }))
  })

const validateSend = (options: SendOptions) =>
  Effect.suspend(() => {
    const chunkSize = options.chunkSize ?? defaultChunkSize
    return Number.isSafeInteger(chunkSize) && chunkSize >= minimumChunkSize
      ? Effect.succeed({
        chunkSize,
        grow: options.chunkSize === undefined ? Option.some({ max: maxChunkSize, within: growWithin }) : Option.none(),
        retry: options.retry ?? defaultRetrySchedule,
        onProgress: options.onProgress ?? (() => Effect.void)
      })
      : Effect.fail(
        new InvalidArgument({ argument: "chunkSize", message: `chunkSize must be an integer of at least ${minimumChunkSize} bytes (64 KiB), got ${chunkSize}` })
      )
  })

/**
 * Set (`true`) while an upload's requests are sent by {@link upload}, {@link uploadWithProgress}, {@link resume}
 * and {@link resumeAt}: the record's creation, the `PATCH`es and `HEAD`s, and the record read after the last byte.
 * A transport may send them its own way: `@ivcap/node`'s layers send each on a connection of its own, so a program
 * that only uploads never loads a second HTTP stack (as `Download.IterableBodies` does for downloads). It is set for
 * the whole operation, so requests an `onProgress` callback makes see it too. `false` elsewhere.
 *
 * @since 0.2.0
 */
export class TransferRequests extends /*#__PURE__*/ Context.Reference<TransferRequests>()("@ivcap/core/Upload/TransferRequests", {
  defaultValue: () => false
}) {}

/**
 * Creates an artifact record ready to receive content (`POST /1/artifacts`; never retried: it is not idempotent).
 * Its `dataHref` is where the content goes ({@link resume} sends it).
 *
 * @since 0.1.0
 */
export const create = (options: CreateOptions = {}): Effect.Effect<Artifact.ArtifactDetails, CreateError, IvcapClient> =>
  Effect.gen(function*() {
    const { collection, policy, size } = yield* validateCreate(options)
    const client = yield* IvcapClient
    const headers = Schema.encodeSync(CreateHeaders)({
      name: options.name,
      contentType: options.contentType ?? defaultContentType,
      contentLength: size ?? -1,
      collection,
      policy,
      tusResumable: Tus.tusVersion
    })
    const artifact = yield* client.call(
      HttpClientRequest.post(Paths.artifacts).pipe(HttpClientRequest.setHeaders(headers)),
      Http.expect(201, createStatuses).json(Artifact.ArtifactDetails),
      { idempotent: false }
    )
    yield* Effect.annotateCurrentSpan("ivcap.id", artifact.id)
    return artifact
  }).pipe(Effect.withSpan("ivcap.Upload.create"))

type Settings = Effect.Effect.Success<ReturnType<typeof validateSend>>

const sendSource = (url: string, source: UploadSource, settings: Settings, offset: Option.Option<number>) =>
  Effect.flatMap(source.open, (reader) => Tus.send({ url, reader, length: source.size, offset, ...settings }))

/**
 * Uploads a source as a new artifact and returns its record as read after the last byte (status `ready`).
 *
 * With an `UploadStore` in context and a source that has a fingerprint (files, `File`s), an unfinished upload of
 * the same source to the same deployment is resumed instead (its name and policy stay those it was created with).
 *
 * @since 0.1.0
 */
export const upload = (source: UploadSource, options: UploadOptions = {}): Effect.Effect<Artifact.ArtifactDetails, UploadError, IvcapClient> =>
  Effect.gen(function*() {
    const settings = yield* validateSend(options)
    const createOptions: CreateOptions = {
      ...options,
      name: options.name ?? Option.getOrUndefined(source.name),
      contentType: options.contentType ?? Option.getOrUndefined(source.contentType),
      size: Option.getOrUndefined(source.size)
    }
    yield* validateCreate(createOptions)
    const client = yield* IvcapClient
    const store = yield* UploadStore.current
    const remembered = options.resume === false
      ? Option.none()
      : Option.all({ store, fingerprint: source.fingerprint, length: source.size })

    const finish = (id: Urn.ArtifactUrn) =>
      Effect.zipRight(
        Option.match(remembered, { onNone: () => Effect.void, onSome: (r) => r.store.remove(client.baseUrl, r.fingerprint) }),
        Artifact.get(id)
      )

    if (Option.isSome(remembered)) {
      const { fingerprint, length, store } = remembered.value
      const previous = yield* store.get(client.baseUrl, fingerprint)
      if (Option.isSome(previous) && previous.value.length === length) {
        const record = previous.value
        yield* Effect.annotateCurrentSpan("ivcap.id", record.artifactId)
        const url = yield* contentUrl(client, record.dataHref)
        const resumed = yield* sendSource(url, source, settings, Option.none()).pipe(
          Effect.as(true),
          // The unfinished upload is gone (expired or deleted): start a new one.
          Effect.catchTag("ResourceNotFound", () => Effect.as(store.remove(client.baseUrl, fingerprint), false))
        )
        if (resumed) return yield* finish(record.artifactId)
      }
    }

    const artifact = yield* create(createOptions)
    yield* Effect.annotateCurrentSpan("ivcap.id", artifact.id)
    const url = yield* contentUrlOf(artifact)
    if (Option.isSome(remembered)) {
      const { fingerprint, length, store } = remembered.value
      const createdAt = yield* Effect.clockWith((clock) => clock.currentTimeMillis)
      yield* store.set(new UploadStore.UploadRecord({ baseUrl: client.baseUrl, fingerprint, artifactId: artifact.id, dataHref: artifact.dataHref ?? url, length, createdAt }))
    }
    // A new upload is at offset 0 (the POST's `Upload-Offset: 0`, wire doc §6.1, inferred).
    yield* sendSource(url, source, settings, Option.some(0))
    return yield* finish(artifact.id)
  }).pipe(Effect.scoped, Effect.provideService(TransferRequests, true), Effect.withSpan("ivcap.Upload.upload"))

/**
 * {@link upload} as a Stream of events: `Progress` as the upload goes (intermediate ones may be dropped when the
 * consumer is slow), then one `Completed` with the artifact. Ending the stream early interrupts the upload, which
 * stays resumable.
 *
 * @since 0.1.0
 */
export const uploadWithProgress = (
  source: UploadSource,
  options: UploadOptions = {}
): Stream.Stream<UploadEvent, UploadError, IvcapClient> =>
  // A sliding queue of events and the upload's outcome, read until `Completed` (a plain Queue rather than
  // `Stream.asyncPush`, whose Mailbox would add ~2.5 kB gzip to every browser bundle that uploads).
  Stream.unwrapScoped(Effect.gen(function*() {
    const events = yield* Queue.sliding<Either.Either<UploadEvent, UploadError>>(16)
    yield* upload(source, {
      ...options,
      onProgress: (progress) => Effect.zipRight(Queue.offer(events, Either.right(progress)), options.onProgress?.(progress) ?? Effect.void)
    }).pipe(
      Effect.matchEffect({
        onFailure: (error) => Queue.offer(events, Either.left(error)),
        onSuccess: (artifact) => Queue.offer(events, Either.right(new Completed({ artifact })))
      }),
      Effect.forkScoped
    )
    // The last event is the newest in the queue, so sliding never drops it.
    return Stream.repeatEffectOption(Effect.flatMap(Queue.take(events), (event) => Effect.mapError(event, Option.some))).pipe(
      Stream.takeUntil((event) => event._tag === "Completed")
    )
  }))

/**
 * Sends the rest of an existing artifact's content (the CLI's `ivcap artifact upload ID -f FILE`): reads the record,
 * asks its `data-href` for the server's offset and continues from there. An upload that is already complete
 * succeeds at once. The source must be the same content the upload was started with.
 *
 * @since 0.1.0
 */
export const resume = (
  artifactId: Urn.ArtifactUrn | string,
  source: UploadSource,
  options: SendOptions = {}
): Effect.Effect<Artifact.ArtifactDetails, SendError | Artifact.GetError, IvcapClient> =>
  Effect.gen(function*() {
    const settings = yield* validateSend(options)
    const artifact = yield* Artifact.get(artifactId)
    const url = yield* contentUrlOf(artifact)
    yield* sendSource(url, source, settings, Option.none())
    return yield* Artifact.get(artifact.id)
  }).pipe(Effect.scoped, Effect.provideService(TransferRequests, true), Effect.withSpan("ivcap.Upload.resume", { attributes: { "ivcap.id": String(artifactId) } }))

/**
 * The tus engine on its own: sends `source` to an existing tus 1.0.0 upload URL, starting from the offset the
 * server reports (`HEAD`), and returns the length once the server has it all. For uploads created elsewhere; the
 * token is sent only if `url` is on the client's origin.
 *
 * @since 0.1.0
 */
export const resumeAt = (url: string, source: UploadSource, options: SendOptions = {}): Effect.Effect<number, SendError, IvcapClient> =>
  Effect.gen(function*() {
    const settings = yield* validateSend(options)
    const client = yield* IvcapClient
    return yield* sendSource(client.resolve(url), source, settings, Option.none())
  }).pipe(Effect.scoped, Effect.provideService(TransferRequests, true), Effect.withSpan("ivcap.Upload.resumeAt"))
