/**
 * Artifacts: the files of a deployment (`GET /1/artifacts`, `GET /1/artifacts/{id}`). Uploading content is in
 * `Upload`, downloading it in `Download`. Covers the Python client's `IVCAP.list_artifacts`, `get_artifact`,
 * `Artifact.refresh` / `status` / `metadata` / `add_metadata`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import * as Aspect from "./Aspect.js"
import * as Http from "./internal/http.js"
import type { IvcapClient } from "./IvcapClient.js"
import * as Listings from "./internal/paging.js"
import * as Paths from "./internal/paths.js"
import * as Paging from "./Paging.js"
import * as Urn from "./Urn.js"

/**
 * Artifact status: `pending` (created) → `partial` (some bytes) → `ready` (all bytes), or `error`; `unknown` for a
 * value this SDK does not know (from a newer server: records keep the wire value in `rawStatus`). @since 0.1.0
 */
export const ArtifactStatus = Schema.Literal("pending", "partial", "ready", "error", "unknown")
/** @since 0.1.0 */
export type ArtifactStatus = typeof ArtifactStatus.Type

const isArtifactStatus = Schema.is(ArtifactStatus)

/**
 * A wire status as an {@link ArtifactStatus}: a value this SDK does not know (e.g. `uploading`, from a newer server)
 * reads as `unknown`. @since 0.2.0
 */
export const statusOf = (raw: string): ArtifactStatus => (isArtifactStatus(raw) ? raw : "unknown")

/** The wire's `status`: any string, one this SDK does not know decoding as `unknown` (the wire value goes to `rawStatus`). */
const StatusFromWire = Schema.transform(Schema.String, ArtifactStatus, { strict: true, decode: statusOf, encode: (status) => status })

/** `rawStatus`: the wire's `status` exactly as sent (absent on a record built by hand rather than read). */
const rawStatusField = {
  /** The status exactly as the server sent it; `status` is its known reading (`unknown` for a new value). */
  rawStatus: Schema.optional(Schema.String)
}

/** Decoding copies the wire's `status` into `rawStatus`; encoding sends `rawStatus` back as the `status`, when there is one. */
const keepRawStatus = {
  strict: true,
  decode: <I extends { readonly status: string }>(wire: I) => ParseResult.succeed({ ...wire, rawStatus: wire.status }),
  encode: <I extends { readonly status: string; readonly rawStatus?: string | undefined }>({ rawStatus, ...rest }: I) =>
    ParseResult.succeed(rawStatus === undefined ? rest : { ...rest, status: rawStatus })
} as const

/** The fields of {@link ArtifactSummary} as on the wire. */
class ArtifactSummaryFields extends Schema.Class<ArtifactSummaryFields>("ArtifactSummaryFields")({
  id: Urn.ArtifactUrn,
  href: Schema.String,
  status: StatusFromWire,
  createdAt: Schema.propertySignature(Schema.DateTimeUtc).pipe(Schema.fromKey("created-at")),
  name: Schema.optional(Schema.String),
  size: Schema.optional(Schema.Number),
  mimeType: Schema.optional(Schema.String).pipe(Schema.fromKey("mime-type"))
}) {}

/**
 * An artifact as listed (`ArtifactListItem`). A `status` this SDK does not know decodes as `unknown`, the wire value
 * kept in `rawStatus`. @since 0.1.0
 */
export class ArtifactSummary extends ArtifactSummaryFields.transformOrFailFrom<ArtifactSummary>("ArtifactSummary")(rawStatusField, keepRawStatus) {}

/** The fields of {@link ArtifactDetails} as on the wire. */
class ArtifactDetailsFields extends Schema.Class<ArtifactDetailsFields>("ArtifactDetailsFields")({
  id: Urn.ArtifactUrn,
  status: StatusFromWire,
  links: Schema.Array(Paging.Link),
  name: Schema.optional(Schema.String),
  size: Schema.optional(Schema.Number),
  mimeType: Schema.optional(Schema.String).pipe(Schema.fromKey("mime-type")),
  // the absolute URL of the content (tus upload and download endpoint); said in the class's doc, where TypeDoc sees it once
  dataHref: Schema.optional(Schema.String).pipe(Schema.fromKey("data-href")),
  etag: Schema.optional(Schema.String),
  account: Schema.optional(Schema.String),
  policy: Schema.optional(Schema.String),
  cacheOf: Schema.optional(Schema.String).pipe(Schema.fromKey("cache-of")),
  createdAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("created-at")),
  lastModifiedAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("last-modified-at"))
}) {}

/**
 * An artifact record (`ArtifactStatusRT`), as read or as created by an upload; `dataHref` is the absolute URL of its
 * content (the tus upload and download endpoint). A `status` this SDK does not know decodes as `unknown`, the wire
 * value kept in `rawStatus`. @since 0.1.0
 */
export class ArtifactDetails extends ArtifactDetailsFields.transformOrFailFrom<ArtifactDetails>("ArtifactDetails")(rawStatusField, keepRawStatus) {}

/** The errors of reading one artifact. @since 0.1.0 */
export type GetError = Http.ReadError

/** Options of {@link list}. @since 0.1.0 */
export type ListOptions = Paging.ListOptions

const listing = Listings.makeListing(Paths.artifacts, ArtifactSummary, "ivcap.Artifact.list")

/** The artifacts, page by page. @since 0.1.0 */
export const listPages: (options?: ListOptions) => Stream.Stream<Paging.Page<ArtifactSummary>, Paging.ListError, IvcapClient> = (options) => listing.listPages(options)

/**
 * The artifacts, as a Stream of items; take as many as you need.
 *
 * @example
 * Artifact.list({ filter: "name ~= 'fire%'" }).pipe(Stream.take(5), Stream.runCollect)
 * @since 0.1.0
 */
export const list: (options?: ListOptions) => Stream.Stream<ArtifactSummary, Paging.ListError, IvcapClient> = (options) => listing.list(options)

/** One page of artifacts: the first, or the one `options.cursor` (a previous page's `next`) points at. @since 0.1.0 */
export const page: (options?: ListOptions) => Effect.Effect<Paging.Page<ArtifactSummary>, Paging.ListError, IvcapClient> = (options) => listing.page(options)

/** Reads an artifact record. @since 0.1.0 */
export const get: (id: Urn.ArtifactUrn | string) => Effect.Effect<ArtifactDetails, GetError, IvcapClient> = Http.readById({
  path: Paths.artifacts,
  urn: Urn.ArtifactUrn,
  schema: ArtifactDetails,
  span: "ivcap.Artifact.get"
})

/** The artifact's status, read fresh (`unknown` for a value this SDK does not know). @since 0.1.0 */
export const status = (id: Urn.ArtifactUrn | string): Effect.Effect<ArtifactStatus, GetError, IvcapClient> =>
  Effect.map(get(id), (a) => a.status)

const metadataOps = Aspect.metadataFor(Urn.ArtifactUrn, "Artifact")

/**
 * The aspects whose entity is this artifact (the Python `Artifact.metadata`, which is broken there).
 *
 * @example
 * Artifact.metadata(id, { schema: "urn:ivcap:schema:artifact%" }).pipe(Stream.runCollect)
 * @since 0.1.0
 */
export const metadata: (
  id: Urn.ArtifactUrn | string,
  options?: Omit<Aspect.ListOptions, "entity">
) => Stream.Stream<Aspect.AspectSummary, Paging.ListError, IvcapClient> = (id, options) => metadataOps.metadata(id, options)

/**
 * Adds a metadata aspect to this artifact; the schema comes from `options.schema` or `content["$schema"]`.
 * Returns the new aspect's id.
 *
 * @since 0.1.0
 */
export const addMetadata: (
  id: Urn.ArtifactUrn | string,
  content: unknown,
  options?: Aspect.WriteOptions
) => Effect.Effect<Urn.AspectUrn, Aspect.AddError, IvcapClient> = (id, content, options) => metadataOps.addMetadata(id, content, options)
