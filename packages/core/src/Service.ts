/**
 * Services: what a deployment offers, with their parameter definitions (`GET /1/services`,
 * `GET /1/services/{id}`). Covers the Python client's `IVCAP.list_services`, `get_service_by_name`,
 * `get_service` and `Service.status` / `parameters` / `mandatory_parameters` / `refresh`.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Http from "./internal/http.js"
import type { IvcapClient } from "./IvcapClient.js"
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

/** One allowed value of an `option` parameter. @since 0.1.0 */
export class ParameterOption extends Schema.Class<ParameterOption>("ParameterOption")({
  value: Schema.String,
  description: Schema.optional(Schema.String)
}) {}

/** A parameter definition (`ParameterDefT`). Defaults are strings on the wire. @since 0.1.0 */
export class ParameterDef extends Schema.Class<ParameterDef>("ParameterDef")({
  name: Schema.String,
  type: ParameterType,
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

/** A service as listed (`ServiceListItem`). @since 0.1.0 */
export class ServiceSummary extends Schema.Class<ServiceSummary>("ServiceSummary")({
  id: Urn.ServiceUrn,
  href: Schema.String,
  account: Schema.String,
  name: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  banner: Schema.optional(Schema.String),
  policy: Schema.optional(Schema.String),
  publishedAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("published-at"))
}) {}

/** A service with its parameters (`ServiceStatusRT`). @since 0.1.0 */
export class ServiceDetails extends Schema.Class<ServiceDetails>("ServiceDetails")({
  id: Urn.ServiceUrn,
  account: Schema.String,
  status: ServiceStatus,
  parameters: Schema.Array(ParameterDef),
  links: Schema.Array(Paging.Link),
  name: Schema.optional(Schema.String),
  description: Schema.optional(Schema.String),
  tags: Schema.optional(Schema.Array(Schema.String))
}) {
  /** The names of the parameters an order must give. */
  get mandatoryParameters(): ReadonlyArray<string> {
    return this.parameters.filter((p) => !p.isOptional).map((p) => p.name)
  }
}

/** The errors of reading one service. @since 0.1.0 */
export type GetError = Http.ReadError

/** The errors of a lookup by name. @since 0.1.0 */
export type GetByNameError = Paging.ListError | ResourceNotFound | AmbiguousRequest

/** Options of {@link list}. @since 0.1.0 */
export type ListOptions = Paging.ListOptions

const listing = Listings.makeListing(Paths.services, ServiceSummary, "ivcap.Service.list")

/** The services, page by page. @since 0.1.0 */
export const listPages: (options?: ListOptions) => Stream.Stream<Paging.Page<ServiceSummary>, Paging.ListError, IvcapClient> = (options) => listing.listPages(options)

/**
 * The services, as a Stream of items; take as many as you need.
 *
 * @example
 * Service.list({ filter: "name ~= 'fire%'" }).pipe(Stream.take(5), Stream.runCollect)
 * @since 0.1.0
 */
export const list: (options?: ListOptions) => Stream.Stream<ServiceSummary, Paging.ListError, IvcapClient> = (options) => listing.list(options)

/** One page of services: the first, or the one `options.cursor` (a previous page's `next`) points at. @since 0.1.0 */
export const page: (options?: ListOptions) => Effect.Effect<Paging.Page<ServiceSummary>, Paging.ListError, IvcapClient> = (options) => listing.page(options)

/**
 * Reads a service with its parameter definitions (the Python `Service.refresh`).
 *
 * @since 0.1.0
 */
export const get: (id: Urn.ServiceUrn | string) => Effect.Effect<ServiceDetails, GetError, IvcapClient> = Http.readById({
  path: Paths.services,
  urn: Urn.ServiceUrn,
  schema: ServiceDetails,
  span: "ivcap.Service.get"
})

/** The service's status (`active`, `inactive` or `error`). @since 0.1.0 */
export const status = (id: Urn.ServiceUrn | string): Effect.Effect<ServiceStatus, GetError, IvcapClient> =>
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
