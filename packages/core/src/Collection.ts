/**
 * Collections: named groups of entity URNs (usually artifacts), kept on aspects as the newest Python client
 * (0.47.19) keeps them — there is no collection endpoint. On the collection's own URN (e.g.
 * `urn:ivcap:collection:<uuid>`, see {@link newUrn}):
 *
 * - one `urn:ivcap:schema:collection.1` aspect, the definition `{ name, description? }` ({@link create} asserts it,
 *   or replaces it when there is one);
 * - one `urn:ivcap:schema:collection-item.1` aspect per member `{ collection, item }` ({@link add} asserts one,
 *   {@link remove} retracts it).
 *
 * Being aspects, collections are bitemporal: `atTime` reads a collection and its members as they were.
 *
 * The Go CLI (`ivcap collection create | get | list`) keeps collections differently, in the older
 * `urn:ivcap:schema:artifact-collection.1` format: ONE aspect on the collection URN holding the whole member list
 * `{ collection, artifacts: [urn…] }` (replaced with `PUT` on every change), with no name or description. This
 * module reads that format too ({@link get}, {@link items}, {@link list} with `includeLegacy`, {@link retract}) and
 * writes only the newer one.
 *
 * Fixed against the Python client: {@link remove} retracts every active membership of the item (a failed
 * de-duplication check may have left two), and {@link add} / {@link remove} fall back to scanning the members when a
 * deployment does not support the `content-path` query they use (Python's `remove` then fails).
 *
 * The server's filtering is not trusted: every aspect read here is checked on the client — its `entity` and `schema`,
 * and for a member lookup its `content.item` — and one that does not match what was asked for is skipped. A server
 * that ignores a filter (`entity`, `schema`, `content-path`) cannot make {@link remove} or {@link retract} retract
 * another item's or another collection's aspects, {@link add} take a non-member for a member, or {@link get} /
 * {@link items} / {@link list} show another collection.
 *
 * @example
 * Effect.gen(function*() {
 *   const id = yield* Collection.newUrn
 *   yield* Collection.create(id, { name: "Ocean CTD Survey" })
 *   yield* Collection.add(id, artifactId)
 *   return yield* Stream.runCollect(Collection.items(id))
 * })
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Artifact from "./Artifact.js"
import * as Aspect from "./Aspect.js"
import type { IvcapClient } from "./IvcapClient.js"
import { DecodeError, InvalidArgument, ResourceNotFound } from "./IvcapError.js"
import type * as Paging from "./Paging.js"
import * as Upload from "./Upload.js"
import type { UploadSource } from "./UploadSource.js"
import * as Urn from "./Urn.js"

/** The schema of a collection's definition aspect. @since 0.1.0 */
export const definitionSchema = "urn:ivcap:schema:collection.1"

/** The schema of a membership aspect (one per member). @since 0.1.0 */
export const itemSchema = "urn:ivcap:schema:collection-item.1"

/** The CLI's older format: one aspect listing every member (`{ collection, artifacts }`); read, never written. @since 0.1.0 */
export const legacySchema = "urn:ivcap:schema:artifact-collection.1"

/** Which aspect format a collection or member was read from. @since 0.1.0 */
export const Format = Schema.Literal("collection.1", "artifact-collection.1")
/** @since 0.1.0 */
export type Format = typeof Format.Type

/** The content of a definition aspect. */
const DefinitionContent = Schema.Struct({ name: Schema.String, description: Schema.optional(Schema.String) })
/** The content of a membership aspect; `collection` repeats the aspect's entity (Python falls back to it). */
const ItemContent = Schema.Struct({ item: Schema.String, collection: Schema.optional(Schema.String) })
/** The content of the CLI's `artifact-collection.1` aspect. */
const LegacyContent = Schema.Struct({ collection: Schema.optional(Schema.String), artifacts: Schema.Array(Schema.String) })

/** A collection: its URN, name and description, and the definition aspect they come from. @since 0.1.0 */
export class Collection extends Schema.Class<Collection>("Collection")({
  /** The collection's URN (the entity of its aspects). */
  id: Schema.String,
  /** Its name (for the CLI's format, which has none: the URN). */
  name: Schema.String,
  description: Schema.optional(Schema.String),
  /** The definition aspect (`collection.1`), or the CLI's member-list aspect (`artifact-collection.1`). */
  aspect: Urn.AspectUrn,
  format: Format,
  validFrom: Schema.optional(Schema.DateTimeUtc),
  /** Set when the definition has been retracted (seen with `atTime` in the past). */
  validTo: Schema.optional(Schema.DateTimeUtc)
}) {}

/** A member of a collection: the entity URN `item`, and the aspect that records the membership. @since 0.1.0 */
export class CollectionItem extends Schema.Class<CollectionItem>("CollectionItem")({
  /** The membership aspect (for the CLI's format: the one aspect holding the whole list). */
  id: Urn.AspectUrn,
  /** The collection's URN. */
  collection: Schema.String,
  /** The member's URN. */
  item: Schema.String,
  format: Format,
  validFrom: Schema.optional(Schema.DateTimeUtc),
  validTo: Schema.optional(Schema.DateTimeUtc)
}) {}

/** Options of {@link create}. @since 0.1.0 */
export interface CreateOptions {
  /** The collection's name (required, non-empty). */
  readonly name: string
  readonly description?: string | undefined
  /** The policy of the definition aspect (`urn:ivcap:policy:…`). */
  readonly policy?: Urn.PolicyUrn | string | undefined
}

/** Options of {@link get}. @since 0.1.0 */
export interface GetOptions {
  /** The collection as it was at that time (default: now). */
  readonly atTime?: Aspect.ListOptions["atTime"]
}

/** Options of {@link list}. @since 0.1.0 */
export interface ListOptions extends GetOptions {
  /** Only collections with exactly this name. */
  readonly name?: string | undefined
  /**
   * A JSONPath comparison on the name, as the Python client's `name_filter`: `== "Ocean"`, `starts with "CTD"`,
   * `like_regex ".*ocean.*" flag "i"` (becomes `content-path=$.name ? (@ <nameFilter>)`).
   */
  readonly nameFilter?: string | undefined
  /** Also list the CLI's `artifact-collection.1` collections, after the others (default false). */
  readonly includeLegacy?: boolean | undefined
  /** Items per request, 1..50 (default 50). */
  readonly pageSize?: number | undefined
}

/** Options of {@link items}. @since 0.1.0 */
export interface ItemsOptions extends GetOptions {
  /** Also the members of a CLI `artifact-collection.1` aspect on the same URN, after the others (default true). */
  readonly includeLegacy?: boolean | undefined
  /** Items per request, 1..50 (default 50). */
  readonly pageSize?: number | undefined
}

/** Options of {@link add}. @since 0.1.0 */
export interface AddOptions {
  /** The policy of the membership aspect (`urn:ivcap:policy:…`). */
  readonly policy?: Urn.PolicyUrn | string | undefined
}

/** The errors of reading collections and members. @since 0.1.0 */
export type ReadError = Paging.ListError | DecodeError

/** The errors of {@link get} (`ResourceNotFound`: no definition on that URN at that time). @since 0.1.0 */
export type GetError = ReadError | ResourceNotFound

/** The errors of {@link create}. @since 0.1.0 */
export type CreateError = ReadError | Aspect.AddError | Aspect.UpdateError | Aspect.GetError

/** The errors of {@link add}. @since 0.1.0 */
export type AddError = ReadError | Aspect.AddError | Aspect.GetError

/** The errors of {@link remove} and {@link retract}. @since 0.1.0 */
export type RetractError = ReadError | Aspect.RetractError | ResourceNotFound

/** The errors of {@link upload}. @since 0.1.0 */
export type UploadError = Upload.UploadError | AddError

const validateUrn = (argument: string) => (value: unknown) => Effect.map(Urn.validate(Urn.Urn, argument)(value), String)

/**
 * A new collection URN, `urn:ivcap:collection:<random v4 uuid>` (from Effect's `Random`, so tests can fix it).
 *
 * @since 0.1.0
 */
export const newUrn: Effect.Effect<Urn.Urn> = Effect.map(
  Effect.all(Array.from({ length: 16 }, () => Random.nextIntBetween(0, 256))),
  (bytes) => {
    bytes[6] = (bytes[6]! & 0x0f) | 0x40
    bytes[8] = (bytes[8]! & 0x3f) | 0x80
    const hex = bytes.map((b) => b.toString(16).padStart(2, "0")).join("")
    const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
    return Urn.Urn.make(`urn:ivcap:collection:${uuid}`)
  }
)

const validity = (a: Aspect.AspectSummary | Aspect.AspectRecord) => ({
  ...(a.validFrom === undefined ? {} : { validFrom: a.validFrom }),
  ...(a.validTo === undefined ? {} : { validTo: a.validTo })
})

/** A definition aspect (either format) as a {@link Collection}. */
const toCollection = (a: Aspect.AspectSummary | Aspect.AspectRecord): Effect.Effect<Collection, DecodeError | Aspect.GetError, IvcapClient> =>
  a.schema === legacySchema
    ? Effect.succeed(new Collection({ id: a.entity, name: a.entity, aspect: a.id, format: "artifact-collection.1", ...validity(a) }))
    : Effect.map(Effect.flatMap(a.content === undefined ? Aspect.get(a.id) : Effect.succeed(a), Aspect.decodeContent(DefinitionContent)), (c) =>
      new Collection({
        id: a.entity,
        name: c.name,
        ...(c.description === undefined ? {} : { description: c.description }),
        aspect: a.id,
        format: "collection.1",
        ...validity(a)
      }))

/**
 * Whether an aspect is about `entity` in exactly `schema`: the server's `entity` and `schema` filters (the latter a
 * LIKE prefix) are checked again on the client, so a record a server should not have answered is skipped.
 */
const isAspectOf = (entity: string, schema: string) => (a: Aspect.AspectSummary | Aspect.AspectRecord): boolean =>
  a.entity === entity && a.schema === schema

/** The newest definition aspect of `urn` in `schema` at the time, if any (a record of another entity or schema is none). */
const definition = (urn: string, schema: string, options: GetOptions | undefined) =>
  Effect.map(
    Aspect.page({ entity: urn, schema, atTime: options?.atTime, pageSize: 1 }),
    (page) => Option.fromNullable(page.items.find(isAspectOf(urn, schema)))
  )

/** A record read back after a write must be the one written: about `entity`, in `schema`. */
const checkWritten = (entity: string, schema: string) => (record: Aspect.AspectRecord): Effect.Effect<Aspect.AspectRecord, DecodeError> =>
  isAspectOf(entity, schema)(record)
    ? Effect.succeed(record)
    : Effect.fail(
      new DecodeError({
        message: `aspect ${record.id} was written for ${entity} (${schema}) but reads as one of ${record.entity} (${record.schema})`
      })
    )

/**
 * Reads a collection (the Python `get_collection`): its `collection.1` definition or, when there is none, the CLI's
 * `artifact-collection.1` aspect. `ResourceNotFound` when neither is on the URN at that time.
 *
 * @since 0.1.0
 */
export const get = (urn: Urn.Urn | string, options?: GetOptions): Effect.Effect<Collection, GetError | Aspect.GetError, IvcapClient> =>
  Effect.gen(function*() {
    const id = yield* validateUrn("urn")(urn)
    const current = yield* definition(id, definitionSchema, options)
    const found = Option.isSome(current) ? current : yield* definition(id, legacySchema, options)
    if (Option.isNone(found)) return yield* new ResourceNotFound({ id, message: `collection '${id}' not found` })
    return yield* toCollection(found.value)
  }).pipe(Effect.withSpan("ivcap.Collection.get", { attributes: { "ivcap.id": String(urn) } }))

/**
 * Creates a collection, or replaces the name and description of an existing one (the Python `create_collection`):
 * asks whether a definition exists, then asserts it with `POST` (new) or replaces it with `PUT` (some deployments
 * reject a `PUT` for an entity without aspects). Returns the collection as read back.
 *
 * @example
 * Effect.flatMap(Collection.newUrn, (id) => Collection.create(id, { name: "Ocean CTD Survey", description: "V2025-03" }))
 * @since 0.1.0
 */
export const create = (urn: Urn.Urn | string, options: CreateOptions): Effect.Effect<Collection, CreateError, IvcapClient> =>
  Effect.gen(function*() {
    const id = yield* validateUrn("urn")(urn)
    if (typeof options?.name !== "string" || options.name.trim() === "") {
      return yield* new InvalidArgument({ argument: "name", message: "a collection needs a non-empty name" })
    }
    if (options.description !== undefined && typeof options.description !== "string") {
      return yield* new InvalidArgument({ argument: "description", message: "description must be a string" })
    }
    const existing = yield* Aspect.page({ entity: id, schema: definitionSchema, includeContent: false, pageSize: 1 })
    const exists = existing.items.some(isAspectOf(id, definitionSchema))
    const content = { name: options.name, ...(options.description === undefined ? {} : { description: options.description }) }
    const write = exists ? Aspect.update : Aspect.add
    const aspect = yield* write(id, content, { schema: definitionSchema, policy: options.policy })
    return yield* Aspect.get(aspect).pipe(Effect.flatMap(checkWritten(id, definitionSchema)), Effect.flatMap(toCollection))
  }).pipe(Effect.withSpan("ivcap.Collection.create", { attributes: { "ivcap.id": String(urn) } }))

/** A JSONPath string literal (double-quoted, JSON escapes). */
const jsonPathString = (s: string) => JSON.stringify(s)

/**
 * The collections, newest first (the Python `list_collections`), optionally by name; with `includeLegacy`, then
 * the CLI's `artifact-collection.1` ones (not filtered by name: they have none).
 *
 * @example
 * Collection.list({ nameFilter: 'starts with "CTD"' }).pipe(Stream.take(20), Stream.runCollect)
 * @since 0.1.0
 */
export const list = (options?: ListOptions): Stream.Stream<Collection, ReadError | Aspect.GetError, IvcapClient> => {
  if (options?.name !== undefined && options.nameFilter !== undefined) {
    return Stream.fail(new InvalidArgument({ argument: "name", message: "give name or nameFilter, not both" }))
  }
  const name = options?.name
  const filter = name !== undefined ? `== ${jsonPathString(name)}` : options?.nameFilter
  const common = { atTime: options?.atTime, pageSize: options?.pageSize }
  // the schema filter is a LIKE prefix, and the name filter a query a server may ignore: both checked here again
  const current = Aspect.list({ ...common, schema: definitionSchema, ...(filter === undefined ? {} : { contentPath: `$.name ? (@ ${filter})` }) }).pipe(
    Stream.filter((a) => a.schema === definitionSchema),
    Stream.mapEffect(toCollection),
    Stream.filter((c) => name === undefined || c.name === name)
  )
  const legacy = Aspect.list({ ...common, schema: legacySchema, includeContent: false }).pipe(
    Stream.filter((a) => a.schema === legacySchema),
    Stream.mapEffect(toCollection)
  )
  return (options?.includeLegacy === true ? Stream.concat(current, legacy) : current).pipe(Stream.withSpan("ivcap.Collection.list"))
}

/** A membership aspect as a {@link CollectionItem}. */
const decodeItemContent = Schema.decodeUnknownOption(ItemContent, { onExcessProperty: "ignore" })

/**
 * A membership aspect as a {@link CollectionItem}: decoded with a decoder built once and the item built without a
 * second validation (half a listing's client CPU otherwise); a mismatch is `Aspect.decodeContent`'s `DecodeError`.
 */
const toItem = (a: Aspect.AspectSummary): Effect.Effect<CollectionItem, DecodeError> => {
  const build = (c: typeof ItemContent.Type) =>
    new CollectionItem({ id: a.id, collection: c.collection ?? a.entity, item: c.item, format: "collection.1", ...validity(a) }, true)
  return Option.match(a.content === undefined ? Option.none() : decodeItemContent(a.content), {
    onNone: () => Effect.map(Aspect.decodeContent(ItemContent)(a), build),
    onSome: (c) => Effect.succeed(build(c))
  })
}

/** The members recorded in the CLI's `artifact-collection.1` aspect, if there is one. */
const legacyItems = (id: string, options: ItemsOptions | undefined) =>
  Stream.unwrap(Effect.gen(function*() {
    const found = yield* definition(id, legacySchema, options)
    if (Option.isNone(found)) return Stream.empty
    const a = found.value
    const content = yield* Aspect.decodeContent(LegacyContent)(a)
    return Stream.fromIterable(content.artifacts.map((item) =>
      new CollectionItem({ id: a.id, collection: content.collection ?? a.entity, item, format: "artifact-collection.1", ...validity(a) })
    ))
  }))

/**
 * The members of a collection (the Python `Collection.items`), as they were at `atTime` (default now), in the order
 * they were added: one {@link CollectionItem} per membership aspect, then — unless `includeLegacy: false` — the members of a CLI
 * `artifact-collection.1` aspect on the same URN.
 *
 * @example
 * Collection.items(id).pipe(Stream.map((member) => member.item), Stream.runCollect)
 * @since 0.1.0
 */
export const items = (collection: Urn.Urn | string, options?: ItemsOptions): Stream.Stream<CollectionItem, ReadError, IvcapClient> =>
  Stream.unwrap(Effect.map(validateUrn("collection")(collection), (id) => {
    const current = Aspect.list({ entity: id, schema: itemSchema, atTime: options?.atTime, pageSize: options?.pageSize, orderDirection: "ASC" }).pipe(
      Stream.filter(isAspectOf(id, itemSchema)),
      Stream.mapEffect(toItem)
    )
    return options?.includeLegacy === false ? current : Stream.concat(current, legacyItems(id, options))
  })).pipe(Stream.withSpan("ivcap.Collection.items", { attributes: { "ivcap.id": String(collection) } }))

/**
 * The active membership aspects of `item` in `id`: by a `content-path` query (`$.item ? (@ == "<item>")`, as the
 * Python client asks), or — when the deployment rejects that query — by reading every member. Each record is checked
 * here (entity, schema and `content.item`, so the query asks for content): a query answered with a record that does
 * not match was not applied, and the members are read instead.
 */
const memberships = (id: string, item: string, first: boolean): Effect.Effect<ReadonlyArray<Urn.AspectUrn>, ReadError, IvcapClient> => {
  const isMembership = isAspectOf(id, itemSchema)
  const matches = (a: Aspect.AspectSummary) => isMembership(a) && a.content?.["item"] === item
  const collect = (s: Stream.Stream<Aspect.AspectSummary, Paging.ListError, IvcapClient>) =>
    Effect.map(Stream.runCollect(first ? Stream.take(s, 1) : s), (c) => Array.from(c))
  const byQuery = Aspect.list({
    entity: id,
    schema: itemSchema,
    contentPath: `$.item ? (@ == ${jsonPathString(item)})`,
    ...(first ? { pageSize: 1 } : {})
  })
  const scan = Effect.map(collect(Aspect.list({ entity: id, schema: itemSchema }).pipe(Stream.filter(matches))), (found) => found.map((a) => a.id))
  const rejected = () => Effect.succeed(undefined)
  return collect(byQuery).pipe(
    Effect.catchTags({
      BadRequest: rejected,
      InvalidParameter: rejected,
      NotImplemented: rejected,
      UnsupportedContentType: rejected,
      UnexpectedStatus: rejected
    }),
    Effect.flatMap((found) => (found !== undefined && found.every(matches) ? Effect.succeed(found.map((a) => a.id)) : scan))
  )
}

/**
 * Adds `item` (any entity URN) to a collection (the Python `add_item_to_collection`): `None` when it is a member
 * already, otherwise the new membership. The collection's definition is not checked (as in Python).
 *
 * @example
 * Collection.add(collectionId, artifact.id).pipe(Effect.map(Option.isSome)) // true: added, false: was a member
 * @since 0.1.0
 */
export const add = (
  collection: Urn.Urn | string,
  item: Urn.Urn | string,
  options?: AddOptions
): Effect.Effect<Option.Option<CollectionItem>, AddError, IvcapClient> =>
  Effect.gen(function*() {
    const id = yield* validateUrn("collection")(collection)
    const member = yield* validateUrn("item")(item)
    if ((yield* memberships(id, member, true)).length > 0) return Option.none()
    const aspect = yield* Aspect.add(id, { collection: id, item: member }, { schema: itemSchema, policy: options?.policy })
    const record = yield* Effect.flatMap(Aspect.get(aspect), checkWritten(id, itemSchema))
    return Option.some(new CollectionItem({ id: aspect, collection: id, item: member, format: "collection.1", ...validity(record) }))
  }).pipe(Effect.withSpan("ivcap.Collection.add", { attributes: { "ivcap.id": String(collection), "ivcap.item": String(item) } }))

/**
 * Removes `item` from a collection (the Python `remove_item_from_collection`) by retracting its membership aspects;
 * `false` when it was not a member. A retraction keeps the history: `items` with an earlier `atTime` still lists it.
 *
 * @since 0.1.0
 */
export const remove = (collection: Urn.Urn | string, item: Urn.Urn | string): Effect.Effect<boolean, RetractError, IvcapClient> =>
  Effect.gen(function*() {
    const id = yield* validateUrn("collection")(collection)
    const member = yield* validateUrn("item")(item)
    const found = yield* memberships(id, member, false)
    yield* Effect.forEach(found, Aspect.retract, { concurrency: 4, discard: true })
    return found.length > 0
  }).pipe(Effect.withSpan("ivcap.Collection.remove", { attributes: { "ivcap.id": String(collection), "ivcap.item": String(item) } }))

/**
 * Retracts a whole collection (the Python `retract_collection`): every membership first, then the definition (and a
 * CLI `artifact-collection.1` aspect on the URN, if any); returns how many aspects were retracted.
 * `ResourceNotFound` — before anything is retracted — when the URN holds no collection.
 *
 * @since 0.1.0
 */
export const retract = (collection: Urn.Urn | string): Effect.Effect<number, RetractError, IvcapClient> =>
  Effect.gen(function*() {
    const id = yield* validateUrn("collection")(collection)
    // only the collection's own aspects: a record of another entity or schema a server answers is never retracted
    const ids = (schema: string) =>
      Effect.map(
        Stream.runCollect(Aspect.list({ entity: id, schema, includeContent: false }).pipe(Stream.filter(isAspectOf(id, schema)), Stream.map((a) => a.id))),
        (c) => Array.from(c)
      )
    const definitions = [...(yield* ids(definitionSchema)), ...(yield* ids(legacySchema))]
    if (definitions.length === 0) return yield* new ResourceNotFound({ id, message: `collection '${id}' not found` })
    // Collected before retracting: a listing is not paged over records that change under it.
    const members = yield* ids(itemSchema)
    yield* Effect.forEach(members, Aspect.retract, { concurrency: 4, discard: true })
    yield* Effect.forEach(definitions, Aspect.retract, { concurrency: 4, discard: true })
    return members.length + definitions.length
  }).pipe(Effect.withSpan("ivcap.Collection.retract", { attributes: { "ivcap.id": String(collection) } }))

/**
 * Uploads `source` as a new artifact straight into a collection: {@link Upload.upload} with the collection sent in
 * `X-Collection` (as the Python client's `upload_artifact(collection=…)` does), then {@link add}, so the artifact is a
 * member whether or not the deployment records that header as a membership (the Python docs add it explicitly
 * too). Returns the artifact, ready.
 *
 * @example
 * Effect.flatMap(UploadSource.fromFile("ctd-cast-001.nc"), (source) => Collection.upload(collectionId, source))
 * @since 0.1.0
 */
export const upload = (
  collection: Urn.Urn | string,
  source: UploadSource,
  options?: Omit<Upload.UploadOptions, "collection"> & AddOptions
): Effect.Effect<Artifact.ArtifactDetails, UploadError, IvcapClient> =>
  Effect.gen(function*() {
    const id = yield* validateUrn("collection")(collection)
    const artifact = yield* Upload.upload(source, { ...options, collection: id })
    yield* add(id, artifact.id, { policy: options?.policy })
    return artifact
  }).pipe(Effect.withSpan("ivcap.Collection.upload", { attributes: { "ivcap.id": String(collection) } }))
