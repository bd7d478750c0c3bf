/**
 * Artifacts: the files of a deployment (`GET /1/artifacts`, `GET /1/artifacts/{id}`). Uploading content is in
 * `Upload`, downloading it in `Download`. Covers the Python client's `IVCAP.list_artifacts`, `get_artifact`,
 * `Artifact.refresh` / `status` / `metadata` / `add_metadata`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import * as Aspect from "./Aspect.js"
import * as Http from "./internal/http.js"
import type { IvcapClient } from "./IvcapClient.js"
import * as Listings from "./internal/paging.js"
import * as Paths from "./internal/paths.js"
import * as Paging from "./Paging.js"
import * as Urn from "./Urn.js"

/** Artifact status: `pending` (created) → `partial` (some bytes) → `ready` (all bytes). @since 0.1.0 */
export const ArtifactStatus = Schema.Literal("pending", "partial", "ready", "error", "unknown")
/** @since 0.1.0 */
export type ArtifactStatus = typeof ArtifactStatus.Type

/** An artifact as listed (`ArtifactListItem`). @since 0.1.0 */
export class ArtifactSummary extends Schema.Class<ArtifactSummary>("ArtifactSummary")({
  id: Urn.ArtifactUrn,
  href: Schema.String,
  status: ArtifactStatus,
  createdAt: Schema.propertySignature(Schema.DateTimeUtc).pipe(Schema.fromKey("created-at")),
  name: Schema.optional(Schema.String),
  size: Schema.optional(Schema.Number),
  mimeType: Schema.optional(Schema.String).pipe(Schema.fromKey("mime-type"))
}) {}

/** An artifact record (`ArtifactStatusRT`), as read or as created by an upload. @since 0.1.0 */
export class ArtifactDetails extends Schema.Class<ArtifactDetails>("ArtifactDetails")({
  id: Urn.ArtifactUrn,
  status: ArtifactStatus,
  links: Schema.Array(Paging.Link),
  name: Schema.optional(Schema.String),
  size: Schema.optional(Schema.Number),
  mimeType: Schema.optional(Schema.String).pipe(Schema.fromKey("mime-type")),
  /** Absolute URL of the content (tus upload and download endpoint). */
  dataHref: Schema.optional(Schema.String).pipe(Schema.fromKey("data-href")),
  etag: Schema.optional(Schema.String),
  account: Schema.optional(Schema.String),
  policy: Schema.optional(Schema.String),
  cacheOf: Schema.optional(Schema.String).pipe(Schema.fromKey("cache-of")),
  createdAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("created-at")),
  lastModifiedAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("last-modified-at"))
}) {}

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

/** The artifact's status, read fresh. @since 0.1.0 */
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
