/**
 * Services: what a deployment offers, with their parameter definitions and tool request schemas. On an API v0.41
 * deployment they are read from `/1/services`, on v0.44 and later from `/1/services2` (which one is the client's
 * `apiVersion` option, or detected once per client — see `IvcapClient.ApiVersion`); the same calls work on both.
 * Covers the Python client's `IVCAP.list_services`, `get_service_by_name`, `get_service` and `Service.status` /
 * `parameters` / `mandatory_parameters` / `refresh` / `request_model`.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Aspect from "./Aspect.js"
import type { DetectError } from "./internal/apiVersion.js"
import { apiVersion as detectApiVersion } from "./internal/apiVersion.js"
import * as Http from "./internal/http.js"
import type { ApiVersion, IvcapClient } from "./IvcapClient.js"
import type { DecodeError, UnexpectedStatus } from "./IvcapError.js"
import { AmbiguousRequest, InvalidArgument, ResourceNotFound } from "./IvcapError.js"
import * as Listings from "./internal/paging.js"
import * as Paths from "./internal/paths.js"
import * as Paging from "./Paging.js"
import * as Urn from "./Urn.js"

/** The seven parameter types of API v0.41. @since 0.1.0 */
export const ParameterType = Schema.Literal("string", "int", "float", "bool", "option", "artifact", "collection")
/** @since 0.1.0 */
export type ParameterType = typeof ParameterType.Type

/**
 * A parameter's `type` as decoded: one of the seven known ones, or — from a newer server — any other string, kept
 * as it is (the Python client fails the whole service on an unknown type; here only an order giving such a
 * parameter leaves its check to the server). @since 0.2.0
 */
export type ParameterTypeName = ParameterType | (string & {})

const ParameterTypeName: Schema.Schema<ParameterTypeName, string> = Schema.String

/** Whether a parameter type is one of the seven this SDK checks values for. @since 0.2.0 */
export const isKnownParameterType: (type: string) => type is ParameterType = Schema.is(ParameterType)

/** One allowed value of an `option` parameter. @since 0.1.0 */
export class ParameterOption extends Schema.Class<ParameterOption>("ParameterOption")({
  value: Schema.String,
  description: Schema.optional(Schema.String)
}) {}

/** A parameter definition (`ParameterDefT`). Defaults are strings on the wire. @since 0.1.0 */
export class ParameterDef extends Schema.Class<ParameterDef>("ParameterDef")({
  name: Schema.String,
  type: ParameterTypeName,
  description: Schema.String,
  label: Schema.optional(Schema.String),
  unit: Schema.optional(Schema.String),
  default: Schema.optional(Schema.String),
  optional: Schema.optional(Schema.Boolean),
  constant: Schema.optional(Schema.Boolean),
  unary: Schema.optional(Schema.Boolean),
  options: Schema.optional(Schema.Array(ParameterOption))
}) {
  /**
   * Whether an order may leave this parameter out: it is optional, or has a non-empty default (the Python
   * client's rule; the API reports such parameters as not optional).
   */
  get isOptional(): boolean {
    return this.optional === true || (this.default !== undefined && this.default !== "")
  }
}

/** Service lifecycle status. @since 0.1.0 */
export const ServiceStatus = Schema.Literal("active", "inactive", "error")
/** @since 0.1.0 */
export type ServiceStatus = typeof ServiceStatus.Type

const isServiceStatus = Schema.is(ServiceStatus)

/**
 * A service as listed: v0.41's `ServiceListItem` (with `account`, `banner`, `policy`, `published-at`) or v0.44's
 * `ServiceListItemT` (with `controller-schema`, `tags`, `valid-from`/`valid-to`, no `account`). @since 0.1.0
 */
export class ServiceSummary extends Schema.Class<ServiceSummary>("ServiceSummary")({
  id: Urn.ServiceUrn,
  href: Schema.String,
  /** The owning account (v0.41 listings only). */
  account: Schema.optional(Schema.String),
  name: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  banner: Schema.optional(Schema.String),
  policy: Schema.optional(Schema.String),
  publishedAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("published-at")),
  /** How the service runs, e.g. `urn:ivcap:schema.service.batch.1` (v0.44+). */
  controllerSchema: Schema.optional(Schema.String).pipe(Schema.fromKey("controller-schema")),
  tags: Schema.optional(Schema.Array(Schema.String)),
  validFrom: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("valid-from")),
  validTo: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("valid-to")),
  /** The relevance of a search hit (v0.44+, when the listing was filtered by a search). */
  score: Schema.optional(Schema.Number)
}) {}

/**
 * A service with its parameters: v0.41's `ServiceStatusRT`, or v0.44's (which adds `controller`,
 * `controller-schema`, `policy`, `valid-from`/`valid-to`). A `status` outside the known three decodes as
 * `"unknown"`, with the wire value kept in `rawStatus`. @since 0.1.0
 */
export class ServiceDetails extends Schema.Class<ServiceDetails>("ServiceDetails")({
  id: Urn.ServiceUrn,
  account: Schema.String,
  /** The status exactly as the server sent it; {@link ServiceDetails.status} is its known reading. */
  rawStatus: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("status")),
  parameters: Schema.Array(ParameterDef),
  links: Schema.Array(Paging.Link),
  name: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  tags: Schema.optional(Schema.Array(Schema.String)),
  policy: Schema.optional(Schema.String),
  /** The controller's definition (v0.44+): how the platform runs the service; its shape depends on `controllerSchema`. */
  controller: Schema.optional(Schema.Unknown),
  controllerSchema: Schema.optional(Schema.String).pipe(Schema.fromKey("controller-schema")),
  validFrom: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("valid-from")),
  validTo: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("valid-to"))
}) {
  /** `active`, `inactive`, `error`, or `unknown` for a value this SDK does not know (see `rawStatus`). */
  get status(): ServiceStatus | "unknown" {
    return isServiceStatus(this.rawStatus) ? this.rawStatus : "unknown"
  }

  /** The names of the parameters an order must give. */
  get mandatoryParameters(): ReadonlyArray<string> {
    return this.parameters.filter((p) => !p.isOptional).map((p) => p.name)
  }
}

/** The errors of reading one service (including those of detecting the API version). @since 0.1.0 */
export type GetError = Http.ReadError | DetectError

/** The errors of a lookup by name. @since 0.1.0 */
export type GetByNameError = Paging.ListError | ResourceNotFound | AmbiguousRequest

/** Options of {@link list}. @since 0.1.0 */
export type ListOptions = Paging.ListOptions

/** The services collection of each API version. */
const servicesPath = (version: ApiVersion) => (version === "v0.41" ? Paths.services : Paths.services2)

const listings = {
  "v0.41": Listings.makeListing(servicesPath("v0.41"), ServiceSummary, "ivcap.Service.list"),
  "v0.44": Listings.makeListing(servicesPath("v0.44"), ServiceSummary, "ivcap.Service.list")
} as const

/**
 * The API the client's deployment speaks: the client's `apiVersion` option, or else detected with one request
 * (`GET /1/services2?limit=1`) the first time it is needed and remembered for the client's lifetime (a failed
 * probe is not remembered).
 *
 * @since 0.2.0
 */
export const apiVersion: Effect.Effect<ApiVersion, DetectError, IvcapClient> = detectApiVersion

/** The services, page by page. @since 0.1.0 */
export const listPages = (options?: ListOptions): Stream.Stream<Paging.Page<ServiceSummary>, Paging.ListError, IvcapClient> =>
  Stream.unwrap(
    // a bad page size is rejected before anything is sent, the version probe included
    Effect.zipRight(Listings.validatePageSize(options?.pageSize), Effect.map(apiVersion, (version) => listings[version].listPages(options)))
  )

/**
 * The services, as a Stream of items; take as many as you need.
 *
 * @example
 * Service.list({ filter: "name ~= 'fire%'" }).pipe(Stream.take(5), Stream.runCollect)
 * @since 0.1.0
 */
export const list = (options?: ListOptions): Stream.Stream<ServiceSummary, Paging.ListError, IvcapClient> => Paging.items(listPages(options))

/** One page of services: the first, or the one `options.cursor` (a previous page's `next`) points at. @since 0.1.0 */
export const page = (options?: ListOptions): Effect.Effect<Paging.Page<ServiceSummary>, Paging.ListError, IvcapClient> => Listings.single(listPages(options))

const readers = {
  "v0.41": Http.readById({ path: servicesPath("v0.41"), urn: Urn.ServiceUrn, schema: ServiceDetails, span: "ivcap.Service.get" }),
  "v0.44": Http.readById({ path: servicesPath("v0.44"), urn: Urn.ServiceUrn, schema: ServiceDetails, span: "ivcap.Service.get" })
} as const

/**
 * Reads a service with its parameter definitions (the Python `Service.refresh`), from `/1/services/{id}` or
 * `/1/services2/{id}` as the deployment's API version says.
 *
 * @since 0.1.0
 */
export const get = (id: Urn.ServiceUrn | string): Effect.Effect<ServiceDetails, GetError, IvcapClient> =>
  // a malformed id is rejected before anything is sent, the version probe included
  Effect.flatMap(Urn.validate(Urn.ServiceUrn, "id")(id), (urn) => Effect.flatMap(apiVersion, (version) => readers[version](urn)))

/** The service's status (`active`, `inactive`, `error`, or `unknown` for a value this SDK does not know). @since 0.1.0 */
export const status = (id: Urn.ServiceUrn | string): Effect.Effect<ServiceStatus | "unknown", GetError, IvcapClient> =>
  Effect.map(get(id), (s) => s.status)

/** The service's parameter definitions (an empty list is fine). @since 0.1.0 */
export const parameters = (id: Urn.ServiceUrn | string): Effect.Effect<ReadonlyArray<ParameterDef>, GetError, IvcapClient> =>
  Effect.map(get(id), (s) => s.parameters)

/** The names of the parameters an order must give. @since 0.1.0 */
export const mandatoryParameters = (id: Urn.ServiceUrn | string): Effect.Effect<ReadonlyArray<string>, GetError, IvcapClient> =>
  Effect.map(get(id), (s) => s.mandatoryParameters)

/** A LIKE pattern that matches `name` literally, quoted for the filter language (**inferred** grammar). */
const nameFilter = (name: string) => `name ~= '${name.replace(/'/g, "''")}'`

/**
 * The one service whose name is exactly `name`. The server's filter is a LIKE match, so the candidates are
 * compared exactly here: none → `ResourceNotFound`, several → `AmbiguousRequest`.
 *
 * @since 0.1.0
 */
export const getByName = (name: string): Effect.Effect<ServiceSummary, GetByNameError, IvcapClient> =>
  Effect.gen(function*() {
    if (name.trim() === "") return yield* new InvalidArgument({ argument: "name", message: "name must not be empty" })
    const candidates = yield* Stream.runCollect(list({ filter: nameFilter(name) }).pipe(Stream.filter((s) => s.name === name)))
    const matches = Chunk.toReadonlyArray(candidates)
    if (matches.length === 0) return yield* new ResourceNotFound({ id: name, message: `service '${name}' not found` })
    if (matches.length > 1) {
      return yield* new AmbiguousRequest({ message: `more than one service named '${name}'`, candidates: matches.map((s) => s.id) })
    }
    return matches[0]!
  }).pipe(Effect.withSpan("ivcap.Service.getByName", { attributes: { "ivcap.name": name } }))

/** Errors shared by every read: re-exported for `catchTags` exhaustiveness checks. @since 0.1.0 */
export type ReadFailure = DecodeError | UnexpectedStatus

/** The schema of the aspect that describes a service as a tool, with its request schema (`fn_schema`). @since 0.2.0 */
export const toolSchemaUrn = "urn:sd-core:schema.ai-tool.1"

/** A JSON Schema (an object; `true`/`false` schemas are objects here too, as `{}` / `{ not: {} }`). @since 0.2.0 */
export type JsonSchema = Aspect.JsonObject

/**
 * A service's tool description (aspect `urn:sd-core:schema.ai-tool.1` on the service): the JSON Schema of the
 * request a job takes (`content.fn_schema`), which the newest Python client turns into its `request_model`, and
 * which `Job.request` checks an input against before sending it. @since 0.2.0
 */
export class ToolSchema extends Schema.Class<ToolSchema>("ToolSchema")({
  /** The service it describes. */
  service: Urn.ServiceUrn,
  /** The aspect it was read from. */
  aspect: Urn.AspectUrn,
  /** The tool's name (`content.name`), when given. */
  name: Schema.optional(Schema.String),
  /** The tool's description (`content.description`), when given. */
  description: Schema.optional(Schema.String),
  /** The JSON Schema of a job's request (`content.fn_schema`). */
  requestSchema: Aspect.JsonObject
}) {}

const ToolContent = Schema.Struct({
  name: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  fn_schema: Schema.Union(Aspect.JsonObject, Schema.Boolean)
})

/** The errors of {@link toolSchema}: none (`ResourceNotFound`), several (`AmbiguousRequest`), or a listing error. @since 0.2.0 */
export type ToolSchemaError = Paging.ListError | ResourceNotFound | AmbiguousRequest | DecodeError | InvalidArgument

/**
 * Reads a service's tool request schema (the Python `Service.request_model`): the one current aspect
 * `urn:sd-core:schema.ai-tool.1` whose entity is the service (an aspect of another entity, answered by a server that
 * ignored the filter, is skipped). No such aspect is `ResourceNotFound`; more than one
 * is `AmbiguousRequest` (as the Python client, which raises there too); content without an `fn_schema` object is a
 * `DecodeError` naming `content.fn_schema`.
 *
 * @example
 * const tool = yield* Service.toolSchema(serviceId)
 * console.log(tool.requestSchema.properties)
 * @since 0.2.0
 */
export const toolSchema = (id: Urn.ServiceUrn | string): Effect.Effect<ToolSchema, ToolSchemaError, IvcapClient> =>
  Effect.gen(function*() {
    const service = yield* Urn.validate(Urn.ServiceUrn, "id")(id)
    const found = Chunk.toReadonlyArray(
      yield* Aspect.list({ entity: service, schema: toolSchemaUrn, includeContent: true, pageSize: 2 }).pipe(
        // the schema filter is a LIKE prefix, and a server may ignore the entity filter: keep the service's own exact-schema aspects only
        Stream.filter((a) => a.entity === service && a.schema === toolSchemaUrn),
        Stream.take(2),
        Stream.runCollect
      )
    )
    if (found.length === 0) {
      return yield* new ResourceNotFound({ id: service, message: `service ${service} has no tool request schema (no aspect ${toolSchemaUrn})` })
    }
    if (found.length > 1) {
      return yield* new AmbiguousRequest({ message: `service ${service} has more than one ${toolSchemaUrn} aspect`, candidates: found.map((a) => a.id) })
    }
    const aspect = found[0]!
    const content = aspect.content ?? (yield* Aspect.get(aspect.id)).content
    const tool = yield* decodeTool(content)
    const requestSchema: Aspect.JsonObject = typeof tool.fn_schema === "boolean" ? (tool.fn_schema ? {} : { not: {} }) : tool.fn_schema
    return new ToolSchema({
      service,
      aspect: aspect.id,
      requestSchema,
      ...(tool.name === undefined ? {} : { name: tool.name }),
      ...(tool.description === undefined ? {} : { description: tool.description })
    })
  }).pipe(Effect.withSpan("ivcap.Service.toolSchema", { attributes: { "ivcap.id": String(id) } }))

const decodeToolAspect = Http.decodeValue(Schema.Struct({ content: ToolContent }), { what: "tool aspect" })
const decodeTool = (content: unknown) => Effect.map(decodeToolAspect({ content }), (a) => a.content)
