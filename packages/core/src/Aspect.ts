/**
 * Aspects: immutable, time-stamped JSON records attached to an entity URN under a schema URN (`/1/aspects`,
 * wire doc §3.10–3.14, §10). An update asserts a new record and retracts the previous one; a retraction sets
 * `valid-to`, nothing is ever deleted, and `atTime` queries see past states.
 *
 * Covers the Python client's `IVCAP.add_aspect`, `update_aspect`, `list_aspects` and `Aspect.refresh` /
 * `aspect` / `content` / `retract`, plus the metadata helpers of orders and artifacts.
 *
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Http from "./internal/http.js"
import * as SafeJson from "./internal/json.js"
import { IvcapClient } from "./IvcapClient.js"
import type { RequestTimeout, TransportError } from "./IvcapError.js"
import { DecodeError, InvalidArgument } from "./IvcapError.js"
import * as Listings from "./internal/paging.js"
import * as Paths from "./internal/paths.js"
import * as Paging from "./Paging.js"
import * as Urn from "./Urn.js"

/**
 * A JSON object: what an aspect's content is (the API rejects anything else). Decoded content is the object the
 * response's JSON made, never a copy: a `"__proto__"` key is an own property, never the prototype. @since 0.1.0
 */
export const JsonObject = SafeJson.JsonObject
/** @since 0.1.0 */
export type JsonObject = typeof JsonObject.Type

/** An aspect as listed (`AspectListItemRT`); `content` is there unless listed with `includeContent: false`. @since 0.1.0 */
export class AspectSummary extends Schema.Class<AspectSummary>("AspectSummary")({
  id: Urn.AspectUrn,
  entity: Schema.String,
  schema: Schema.String,
  contentType: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("content-type")),
  content: Schema.optional(JsonObject),
  validFrom: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("valid-from")),
  validTo: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("valid-to"))
}) {
  /** Whether the record has been retracted (it has a `valid-to`). */
  get isRetracted(): boolean {
    return this.validTo !== undefined
  }
}

/**
 * The listing's decoder of an {@link AspectSummary}: the wire object checked once (the same field schemas, under
 * their wire names), then the instance built without a second validation. Decoding the class itself checks every
 * field twice — once on the wire side and again on the type side of its `fromKey` renamings — which was a tenth
 * of a listing's client CPU.
 */
const AspectSummaryFromWire = Schema.transform(
  Schema.Struct({
    id: Urn.AspectUrn,
    entity: Schema.String,
    schema: Schema.String,
    "content-type": Schema.String,
    content: Schema.optional(JsonObject),
    "valid-from": Schema.optional(Schema.DateTimeUtc),
    "valid-to": Schema.optional(Schema.DateTimeUtc)
  }),
  Schema.typeSchema(AspectSummary),
  {
    strict: true,
    decode: (wire) => {
      // One props object, optional keys set only when present (no spread temporaries: this runs per listed item).
      const props: { -readonly [K in keyof AspectSummary]?: AspectSummary[K] } = { id: wire.id, entity: wire.entity, schema: wire.schema, contentType: wire["content-type"] }
      if (wire.content !== undefined) props.content = wire.content
      if (wire["valid-from"] !== undefined) props.validFrom = wire["valid-from"]
      if (wire["valid-to"] !== undefined) props.validTo = wire["valid-to"]
      return new AspectSummary(props as ConstructorParameters<typeof AspectSummary>[0], true)
    },
    encode: (a) => ({
      id: a.id,
      entity: a.entity,
      schema: a.schema,
      "content-type": a.contentType,
      ...(a.content === undefined ? {} : { content: a.content }),
      ...(a.validFrom === undefined ? {} : { "valid-from": a.validFrom }),
      ...(a.validTo === undefined ? {} : { "valid-to": a.validTo })
    })
  }
)

/** An aspect record (`AspectRT`), as read by id. @since 0.1.0 */
export class AspectRecord extends Schema.Class<AspectRecord>("AspectRecord")({
  id: Urn.AspectUrn,
  entity: Schema.String,
  schema: Schema.String,
  contentType: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("content-type")),
  content: JsonObject,
  /** The principal that asserted the record. */
  asserter: Schema.String,
  links: Schema.Array(Paging.Link),
  validFrom: Schema.propertySignature(Schema.DateTimeUtc).pipe(Schema.fromKey("valid-from")),
  validTo: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("valid-to")),
  /** The principal that retracted it, once retracted. */
  retracter: Schema.optional(Schema.String),
  /** The account that owns the record (sent since API v0.43). */
  account: Schema.optional(Schema.String),
  /** The policy controlling access to it (sent since API v0.43). */
  policy: Schema.optional(Schema.String),
  /** The record this one replaced, for an update (sent since API v0.43). */
  replaces: Schema.optional(Schema.String)
}) {
  /** Whether the record has been retracted (it has a `valid-to`). */
  get isRetracted(): boolean {
    return this.validTo !== undefined
  }
}

/** `{"id"}`: the answer of a create or update (`AspectIDRT`). */
const AspectId = Schema.Struct({ id: Urn.AspectUrn })

const isAspectUrn = Schema.is(Urn.AspectUrn)

/**
 * The aspect id a `Location` header names: the header itself when it is an aspect URN, else the last segment of its
 * path (percent-decoded), e.g. `/1/aspects/urn%3Aivcap%3Aaspect%3A…`; `None` when that is no aspect URN.
 */
const idFromLocation = (location: string | undefined): Option.Option<Urn.AspectUrn> => {
  if (location === undefined) return Option.none()
  const trimmed = location.trim()
  if (isAspectUrn(trimmed)) return Option.some(trimmed)
  const path = trimmed.replace(/[?#].*$/s, "")
  let segment: string
  try {
    segment = decodeURIComponent(path.slice(path.lastIndexOf("/") + 1))
  } catch {
    return Option.none()
  }
  return isAspectUrn(segment) ? Option.some(segment) : Option.none()
}

const decodeAspectId = Http.decodeValue(AspectId, { what: "unexpected response" })
const utf8 = new TextDecoder()

/**
 * The id a successful create or update answered with: the body's `id` (`200`, as the spec and the emulator answer,
 * or `201`) or — for a body without one (empty, say) — the `Location` header's. A body `id` that is no aspect URN, or
 * no id anywhere, is a `DecodeError`.
 */
const readWrittenId = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.flatMap(Http.boundedBytes(response), (bytes): Effect.Effect<Urn.AspectUrn, DecodeError> => {
    const where = Http.describe(response.request)
    const text = utf8.decode(bytes)
    let json: unknown = undefined
    try {
      if (text.trim() !== "") json = JSON.parse(text)
    } catch {
      // not JSON: the Location header, or the DecodeError below
    }
    if (Predicate.isRecord(json) && "id" in json) return Effect.map(decodeAspectId(json, response.request), (body) => body.id)
    const location = response.headers["location"]
    return Option.match(idFromLocation(location), {
      onSome: Effect.succeed,
      onNone: () =>
        Effect.fail(
          new DecodeError({
            ...where,
            message: location === undefined
              ? `unexpected response: id: is missing (${text.trim() === "" ? "an empty body" : "not in the body"}, and no Location header)`
              : `unexpected response: id: is missing from the body, and the Location header names no aspect: ${JSON.stringify(location.slice(0, 200))}`
          })
        )
    })
  })

/** The wire query of a create or update. */
const WriteQuery = Schema.Struct({
  entity: Schema.String,
  schema: Schema.String,
  policy: Schema.optional(Schema.String)
})

/** The wire query of a listing (the order-by names use underscores, e.g. `valid_from`). */
const ListQuery = Schema.Struct({
  entity: Schema.optional(Schema.String),
  schema: Schema.optional(Schema.String),
  contentPath: Schema.optional(Schema.String).pipe(Schema.fromKey("content-path")),
  atTime: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("at-time")),
  includeContent: Schema.optional(Schema.BooleanFromString).pipe(Schema.fromKey("include-content")),
  filter: Schema.optional(Schema.String),
  orderBy: Schema.optional(Schema.String).pipe(Schema.fromKey("order-by")),
  orderDirection: Schema.optional(Schema.Literal("ASC", "DESC")).pipe(Schema.fromKey("order-direction"))
})

/** Options of {@link add} and {@link update}. @since 0.1.0 */
export interface WriteOptions {
  /** The schema URN; defaults to `content["$schema"]`. One of the two is required. */
  readonly schema?: string | undefined
  /** The policy controlling access (`urn:ivcap:policy:…`). */
  readonly policy?: Urn.PolicyUrn | string | undefined
}

/** Options of {@link list}. @since 0.1.0 */
export interface ListOptions {
  /** Only aspects of this entity (an exact URN). */
  readonly entity?: string | undefined
  /** A schema prefix, `%` as wildcard, e.g. `urn:ivcap:schema:artifact%`. */
  readonly schema?: string | undefined
  /** A PostgreSQL JSONPath on the content, e.g. `$.images[*] ? (@.size > 10000)`. */
  readonly contentPath?: string | undefined
  /** The records valid at that time (default: now). */
  readonly atTime?: DateTime.DateTime | undefined
  /** Include each record's content (default `true`, as the Python client). */
  readonly includeContent?: boolean | undefined
  /** A server-side filter expression. */
  readonly filter?: string | undefined
  /** Comma-separated attributes to order by: `entity`, `schema`, `valid_from` (the server's default), `valid_to`, … */
  readonly orderBy?: string | undefined
  /** `ASC` or `DESC` (the server's default). */
  readonly orderDirection?: "ASC" | "DESC" | undefined
  /** Items per request, 1..50 (default 50); how many to take is up to the Stream's consumer. */
  readonly pageSize?: number | undefined
  /** Start at the page this cursor (a previous page's `next`) points at. */
  readonly cursor?: string | undefined
}

const addStatuses = [400, 403, 422, 501] as const
const updateStatuses = [400, 403, 422, 424, 501] as const
// DELETE declares no 404, but a real server answers one for an unknown id: mapped to ResourceNotFound.
const retractStatuses = [400, 403, 404, 422, 501] as const

/** The errors of {@link add}. @since 0.1.0 */
export type AddError = Http.StatusError<(typeof addStatuses)[number]> | InvalidArgument | TransportError | RequestTimeout

/** The errors of {@link update} (`NotUnique`: more than one active record for the entity/schema pair). @since 0.1.0 */
export type UpdateError = Http.StatusError<(typeof updateStatuses)[number]> | InvalidArgument | TransportError | RequestTimeout

/** The errors of {@link retract}. @since 0.1.0 */
export type RetractError = Http.StatusError<(typeof retractStatuses)[number]> | InvalidArgument | TransportError | RequestTimeout

/** The errors of {@link get}. @since 0.1.0 */
export type GetError = Http.ReadError

const invalid = (argument: string, message: string) => new InvalidArgument({ argument, message })

/**
 * Checks a create/update before any request and builds its query and body. The schema comes from
 * `options.schema` or `content["$schema"]`; `$schema` and `$entity` are injected into the body (as the Python
 * client does), and a `$schema`/`$entity` already in the content must agree with them.
 */
const prepareWrite = (entity: string, value: unknown, options: WriteOptions | undefined) =>
  Effect.gen(function*() {
    const entityUrn = yield* Urn.validate(Urn.Urn, "entity")(entity)
    if (!Predicate.isRecord(value) || Array.isArray(value)) return yield* invalid("content", "content must be a JSON object")
    // serialised first, inside the error channel: what JSON cannot carry is an InvalidArgument naming the field
    const content = JSON.parse(yield* SafeJson.serialise(value, "content")) as Record<string, unknown>
    const inContent = content["$schema"]
    if (inContent !== undefined && typeof inContent !== "string") {
      return yield* invalid("content", "content[\"$schema\"] must be a string")
    }
    const schemaArg = options?.schema ?? inContent
    if (schemaArg === undefined) {
      return yield* invalid("schema", "no schema: pass options.schema or set content[\"$schema\"]")
    }
    const schema = yield* Urn.validate(Urn.Urn, "schema")(schemaArg)
    if (inContent !== undefined && inContent !== schema) {
      return yield* invalid("schema", `schema ${JSON.stringify(schema)} conflicts with content["$schema"] ${JSON.stringify(inContent)}`)
    }
    const entityInContent = content["$entity"]
    if (entityInContent !== undefined && entityInContent !== entityUrn) {
      return yield* invalid("entity", `entity ${JSON.stringify(entityUrn)} conflicts with content["$entity"] ${JSON.stringify(entityInContent)}`)
    }
    const policy = options?.policy === undefined ? undefined : yield* Urn.validate(Urn.PolicyUrn, "policy")(options.policy)
    return {
      entity: entityUrn,
      schema,
      query: Schema.encodeSync(WriteQuery)({ entity: entityUrn, schema, policy }),
      body: JSON.stringify({ ...content, $schema: schema, $entity: entityUrn })
    }
  })

const write = <S extends Http.DeclaredStatus>(
  method: "POST" | "PUT",
  declared: ReadonlyArray<S>,
  span: string
) => {
  const fail = Http.failStatus(declared)
  const handle = (response: HttpClientResponse.HttpClientResponse): Effect.Effect<Urn.AspectUrn, Http.StatusError<S> | TransportError> =>
    response.status === 200 || response.status === 201 ? readWrittenId(response) : fail(response)
  return (entity: string, content: unknown, options?: WriteOptions) =>
    Effect.gen(function*() {
      const prepared = yield* prepareWrite(entity, content, options)
      const client = yield* IvcapClient
      const request = HttpClientRequest.make(method)(Paths.aspects).pipe(
        HttpClientRequest.setUrlParams(Http.definedOnly(prepared.query)),
        HttpClientRequest.bodyText(prepared.body, "application/json")
      )
      yield* Effect.annotateCurrentSpan("ivcap.schema", prepared.schema)
      const id = yield* client.call(request, handle)
      yield* Effect.annotateCurrentSpan("ivcap.id", id)
      return id
    }).pipe(Effect.withSpan(span, { attributes: { "ivcap.entity": entity } }))
}

/**
 * Asserts a new aspect about `entity` (`POST /1/aspects`, never retried) and returns its id — from the answer's body
 * (`200` or `201`), or from its `Location` header when the body has none. Read the record back with {@link get}.
 *
 * @example
 * Aspect.add(artifactId, { $schema: "urn:example:schema:tag.1", tag: "fire" }).pipe(Effect.flatMap(Aspect.get))
 * @since 0.1.0
 */
export const add: (entity: string, content: unknown, options?: WriteOptions) => Effect.Effect<Urn.AspectUrn, AddError, IvcapClient> = write(
  "POST",
  addStatuses,
  "ivcap.Aspect.add"
)

/**
 * Asserts a new aspect and retracts the active one with the same entity and schema (`PUT /1/aspects`,
 * idempotent in effect, so retried); returns the new record's id. More than one active record → `NotUnique`.
 *
 * @since 0.1.0
 */
export const update: (entity: string, content: unknown, options?: WriteOptions) => Effect.Effect<Urn.AspectUrn, UpdateError, IvcapClient> = write(
  "PUT",
  updateStatuses,
  "ivcap.Aspect.update"
)

const getById = Http.readById({ path: Paths.aspects, urn: Urn.AspectUrn, schema: AspectRecord, span: "ivcap.Aspect.get" })

/**
 * Reads an aspect record, content included (the Python `Aspect.refresh`). A record whose `id` is not the one asked
 * for is a `DecodeError` (the server answered for another record).
 *
 * @since 0.1.0
 */
export const get = (id: Urn.AspectUrn | string): Effect.Effect<AspectRecord, GetError, IvcapClient> =>
  Effect.flatMap(getById(id), (record) =>
    record.id === id
      ? Effect.succeed(record)
      : Effect.fail(new DecodeError({ message: `asked for aspect ${String(id)}, the server answered with aspect ${record.id}` })))

const retractHandle = Http.expectDone(retractStatuses)

/**
 * Retracts an aspect (`DELETE /1/aspects/{id}` → 204, or 200 / 202 with the body ignored): it stays readable, with
 * `validTo` and `retracter` set.
 *
 * @since 0.1.0
 */
export const retract = (id: Urn.AspectUrn | string): Effect.Effect<void, RetractError, IvcapClient> =>
  Effect.gen(function*() {
    const urn = yield* Urn.validate(Urn.AspectUrn, "id")(id)
    const client = yield* IvcapClient
    return yield* client.call(HttpClientRequest.del(`${Paths.aspects}/${Urn.pathSegment(urn)}`), retractHandle)
  }).pipe(Effect.withSpan("ivcap.Aspect.retract", { attributes: { "ivcap.id": String(id) } }))

/**
 * The aspects matching `options`, page by page.
 *
 * @since 0.1.0
 */
export const listPages = (options?: ListOptions): Stream.Stream<Paging.Page<AspectSummary>, Paging.ListError, IvcapClient> =>
  Stream.unwrap(Effect.gen(function*() {
    const entity = options?.entity === undefined ? undefined : yield* Urn.validate(Urn.Urn, "entity")(options.entity)
    if (options?.schema !== undefined && options.schema.trim() === "") {
      return yield* invalid("schema", "schema must not be empty (use `%` as a wildcard)")
    }
    const query = Schema.encodeSync(ListQuery)({
      entity,
      schema: options?.schema,
      contentPath: options?.contentPath,
      atTime: options?.atTime === undefined ? undefined : DateTime.toUtc(options.atTime),
      includeContent: options?.includeContent ?? true,
      filter: options?.filter,
      orderBy: options?.orderBy,
      orderDirection: options?.orderDirection
    })
    return Listings.listing({ path: Paths.aspects, item: AspectSummaryFromWire, query, pageSize: options?.pageSize, cursor: options?.cursor, span: "ivcap.Aspect.list" })
  }))

/**
 * The aspects matching `options` as a Stream of items; take as many as you need.
 *
 * @example
 * Aspect.list({ entity: artifactId, schema: "urn:ivcap:schema:artifact%" }).pipe(Stream.take(10), Stream.runCollect)
 * @since 0.1.0
 */
export const list = (options?: ListOptions): Stream.Stream<AspectSummary, Paging.ListError, IvcapClient> => Paging.items(listPages(options))

/** One page of aspects: the first, or the one `options.cursor` points at. @since 0.1.0 */
export const page = (options?: ListOptions): Effect.Effect<Paging.Page<AspectSummary>, Paging.ListError, IvcapClient> =>
  Listings.single(listPages(options))

/**
 * The content of an aspect: the one it carries, or — for one listed without content — read by id (the
 * Python `Aspect.content`).
 *
 * @since 0.1.0
 */
export const content = (aspect: AspectSummary | AspectRecord): Effect.Effect<JsonObject, GetError, IvcapClient> =>
  aspect.content === undefined ? Effect.map(get(aspect.id), (r) => r.content) : Effect.succeed(aspect.content)

/**
 * Decodes an aspect's content with your own Schema; a mismatch (or no content, for an aspect listed with
 * `includeContent: false`) is a `DecodeError` naming the field.
 *
 * @example
 * const Tag = Schema.Struct({ tag: Schema.String })
 * Aspect.list({ schema: "urn:example:schema:tag.1" }).pipe(Stream.mapEffect(Aspect.decodeContent(Tag)))
 * @since 0.1.0
 */
export const decodeContent = <A, I, R>(schema: Schema.Schema<A, I, R>) =>
(aspect: AspectSummary | AspectRecord): Effect.Effect<A, DecodeError, R> => {
  const context = { what: `content of aspect ${aspect.id}` }
  return aspect.content === undefined
    ? Effect.fail(new DecodeError({ message: `${context.what}: not loaded (listed with includeContent: false); read it with Aspect.content` }))
    : Http.decodeValue(schema, context)(aspect.content)
}

/** The metadata operations of one kind of entity (orders, artifacts). @since 0.1.0 */
export interface Metadata<Id> {
  /** The aspects whose entity is `id`. */
  readonly metadata: (id: Id | string, options?: Omit<ListOptions, "entity">) => Stream.Stream<AspectSummary, Paging.ListError, IvcapClient>
  /** Adds an aspect about `id`; returns the new aspect's id. */
  readonly addMetadata: (id: Id | string, content: unknown, options?: WriteOptions) => Effect.Effect<Urn.AspectUrn, AddError, IvcapClient>
}

/**
 * Metadata operations for entities of one URN kind: the id is checked against `urn` before any request.
 *
 * @since 0.1.0
 */
export const metadataFor = <Id, I>(urn: Schema.Schema<Id, I>, module: string): Metadata<Id> => ({
  metadata: (id, options) =>
    Stream.unwrap(Effect.map(Urn.validate(urn, "id")(id), (entity) => list({ ...options, entity: String(entity) }))).pipe(
      Stream.withSpan(`ivcap.${module}.metadata`, { attributes: { "ivcap.id": String(id) } })
    ),
  addMetadata: (id, content, options) =>
    Effect.flatMap(Urn.validate(urn, "id")(id), (entity) => add(String(entity), content, options)).pipe(
      Effect.withSpan(`ivcap.${module}.addMetadata`, { attributes: { "ivcap.id": String(id) } })
    )
})
