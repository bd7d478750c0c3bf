/**
 * Orders: requests to run a service with parameters (`/1/orders`, wire doc §3.3–3.5, §11). Placing an order
 * checks the parameters against the service's definitions first, sends the service's own names with string
 * values, and returns the created order (the Python client crashes there). Covers the Python client's
 * `IVCAP.list_orders`, `get_order`, `Service.place_order` and `Order.refresh` / `status` / `parameters` /
 * `metadata` / `add_metadata`.
 *
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Aspect from "./Aspect.js"
import * as Http from "./internal/http.js"
import type { ParameterValue } from "./internal/parameters.js"
import { checkParameters } from "./internal/parameters.js"
import { IvcapClient } from "./IvcapClient.js"
import type { InvalidArgument, InvalidParameter, PagingError, RequestTimeout, TransportError } from "./IvcapError.js"
import * as Listings from "./internal/paging.js"
import * as Paths from "./internal/paths.js"
import * as Paging from "./Paging.js"
import * as Service from "./Service.js"
import * as Urn from "./Urn.js"

/** Order status: `pending → scheduled → executing → succeeded | failed | error`. @since 0.1.0 */
export const OrderStatus = Schema.Literal("unknown", "pending", "scheduled", "executing", "succeeded", "failed", "error")
/** @since 0.1.0 */
export type OrderStatus = typeof OrderStatus.Type

/** The statuses an order never leaves: `succeeded`, `failed` (by the service) and `error` (by the platform). @since 0.1.0 */
export const terminalStatuses: ReadonlySet<OrderStatus> = new Set<OrderStatus>(["succeeded", "failed", "error"])

/** Whether an order in this status is finished. @since 0.1.0 */
export const isTerminal = (status: OrderStatus): boolean => terminalStatuses.has(status)

/** An order parameter as echoed by the server (`ParameterT`). @since 0.1.0 */
export class OrderParameter extends Schema.Class<OrderParameter>("OrderParameter")({
  name: Schema.String,
  value: Schema.String
}) {}

/** A product of an order: an artifact it produced (`ProductListItemT`). @since 0.1.0 */
export class Product extends Schema.Class<Product>("Product")({
  /** The artifact's id. */
  id: Schema.String,
  href: Schema.String,
  status: Schema.String,
  name: Schema.optional(Schema.String),
  mimeType: Schema.optional(Schema.String),
  size: Schema.optional(Schema.Number),
  /** Absolute URL of the content. */
  dataHref: Schema.optional(Schema.String)
}) {}

const ProductWire = Schema.Struct({
  id: Schema.String,
  href: Schema.String,
  status: Schema.String,
  name: Schema.optional(Schema.String),
  mimeType: Schema.optional(Schema.String).pipe(Schema.fromKey("mime-type")),
  size: Schema.optional(Schema.Number),
  dataHref: Schema.optional(Schema.String).pipe(Schema.fromKey("data-href")),
  // (inferred) wire doc §3.4: the spec says `data-href`, but the goa server's Go struct tags it `dataRef`.
  dataRef: Schema.optional(Schema.String)
})

/** A product on the wire, accepting the content link as `data-href` or `dataRef`. @since 0.1.0 */
export const ProductFromWire: Schema.Schema<Product, typeof ProductWire.Encoded> = Schema.transform(ProductWire, Schema.typeSchema(Product), {
  strict: true,
  decode: ({ dataHref, dataRef, ...rest }) => {
    const link = dataHref ?? dataRef
    return new Product(link === undefined ? rest : { ...rest, dataHref: link })
  },
  encode: ({ dataHref, ...rest }) => ({ ...rest, ...(dataHref === undefined ? {} : { dataHref }) })
})

/** The (first page of the) products embedded in an order record (`PartialProductListT`). @since 0.1.0 */
export const ProductList = Schema.Struct({ items: Schema.Array(ProductFromWire), links: Schema.Array(Paging.Link) })

/** An order as listed (`OrderListItem`). @since 0.1.0 */
export class OrderSummary extends Schema.Class<OrderSummary>("OrderSummary")({
  id: Urn.OrderUrn,
  href: Schema.String,
  account: Schema.String,
  service: Schema.String,
  status: OrderStatus,
  name: Schema.optional(Schema.String),
  orderedAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("ordered-at")),
  startedAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("started-at")),
  finishedAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("finished-at"))
}) {}

/** An order record (`OrderStatusRT`), as read or as placed. @since 0.1.0 */
export class OrderDetails extends Schema.Class<OrderDetails>("OrderDetails")({
  id: Urn.OrderUrn,
  account: Schema.String,
  service: Schema.String,
  status: OrderStatus,
  parameters: Schema.Array(OrderParameter),
  products: ProductList,
  links: Schema.Array(Paging.Link),
  name: Schema.optional(Schema.String),
  orderedAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("ordered-at")),
  startedAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("started-at")),
  finishedAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("finished-at")),
  tags: Schema.optional(Schema.Array(Schema.String))
}) {
  /** Whether the order is finished (succeeded, failed or error). */
  get isTerminal(): boolean {
    return isTerminal(this.status)
  }

  /** The value of a parameter as the server echoes it. */
  parameter(name: string): Option.Option<string> {
    return Option.fromNullable(this.parameters.find((p) => p.name === name)?.value)
  }
}

const OrderRequest = Schema.Struct({
  service: Schema.String,
  parameters: Schema.Array(Schema.Struct({ name: Schema.String, value: Schema.String })),
  name: Schema.optional(Schema.String),
  policy: Schema.optional(Schema.String),
  tags: Schema.optional(Schema.Array(Schema.String))
})

/** Options of {@link list}. @since 0.1.0 */
export type ListOptions = Paging.ListOptions

/** The errors of reading one order. @since 0.1.0 */
export type GetError = Http.ReadError

const listing = Listings.makeListing(Paths.orders, OrderSummary, "ivcap.Order.list")

/** The orders, page by page. @since 0.1.0 */
export const listPages: (options?: ListOptions) => Stream.Stream<Paging.Page<OrderSummary>, Paging.ListError, IvcapClient> = (options) => listing.listPages(options)

/**
 * The orders, as a Stream of items; take as many as you need.
 *
 * @example
 * Order.list({ orderBy: "ordered-at" }).pipe(Stream.take(5), Stream.runCollect)
 * @since 0.1.0
 */
export const list: (options?: ListOptions) => Stream.Stream<OrderSummary, Paging.ListError, IvcapClient> = (options) => listing.list(options)

/** One page of orders: the first, or the one `options.cursor` points at. @since 0.1.0 */
export const page: (options?: ListOptions) => Effect.Effect<Paging.Page<OrderSummary>, Paging.ListError, IvcapClient> = (options) => listing.page(options)

/** Reads an order record (the Python `Order.refresh`). @since 0.1.0 */
export const get: (id: Urn.OrderUrn | string) => Effect.Effect<OrderDetails, GetError, IvcapClient> = Http.readById({
  path: Paths.orders,
  urn: Urn.OrderUrn,
  schema: OrderDetails,
  span: "ivcap.Order.get"
})

/** The order's status, read fresh. @since 0.1.0 */
export const status = (id: Urn.OrderUrn | string): Effect.Effect<OrderStatus, GetError, IvcapClient> => Effect.map(get(id), (o) => o.status)

/** Options of {@link place}. @since 0.1.0 */
export interface PlaceOptions {
  /** A name for the order. */
  readonly name?: string | undefined
  /** The policy controlling access (`urn:ivcap:policy:…`). */
  readonly policy?: Urn.PolicyUrn | string | undefined
  /** Tags for the order. */
  readonly tags?: ReadonlyArray<string> | undefined
}

/** Parameter values by name: the service's names (`max-iterations`) or their `_` aliases (`max_iterations`). @since 0.1.0 */
export type Parameters = Readonly<Record<string, ParameterValue | undefined>>

const placeStatuses = [400, 403, 404, 422, 501] as const

/**
 * The errors of {@link place}: reading the service, a parameter rejected before the request (or by the server:
 * both are `InvalidParameter`), and the POST's own.
 *
 * @since 0.1.0
 */
export type PlaceError = Service.GetError | InvalidParameter | Http.StatusError<(typeof placeStatuses)[number]> | InvalidArgument | TransportError | RequestTimeout

const placeHandle = Http.expect(200, placeStatuses).json(OrderDetails)

/**
 * Places an order and returns it (status typically `pending`). The service's parameter definitions are read
 * first and every parameter is checked against them — unknown, missing, wrongly-typed, not-in-options and
 * changed constant values are an `InvalidParameter` before the order is sent. `POST /1/orders` is sent once,
 * never retried.
 *
 * @example
 * Order.place(serviceId, { region: "Blue Mountains", threshold: 10.5, "use-satellite": true })
 * @since 0.1.0
 */
export const place = (
  serviceId: Urn.ServiceUrn | string,
  parameters: Parameters,
  options?: PlaceOptions
): Effect.Effect<OrderDetails, PlaceError, IvcapClient> =>
  Effect.gen(function*() {
    const service = yield* Urn.validate(Urn.ServiceUrn, "serviceId")(serviceId)
    const policy = options?.policy === undefined ? undefined : yield* Urn.validate(Urn.PolicyUrn, "policy")(options.policy)
    const definition = yield* Service.get(service)
    const wire = yield* checkParameters(definition.parameters, parameters)
    const body = Schema.encodeSync(OrderRequest)({ service, parameters: wire, name: options?.name, policy, tags: options?.tags })
    const client = yield* IvcapClient
    const order = yield* client.call(HttpClientRequest.post(Paths.orders).pipe(HttpClientRequest.bodyUnsafeJson(body)), placeHandle)
    yield* Effect.annotateCurrentSpan("ivcap.id", order.id)
    return order
  }).pipe(Effect.withSpan("ivcap.Order.place", { attributes: { "ivcap.service": String(serviceId) } }))

/**
 * Checks parameter values against a service's definitions without placing anything: the parameters that
 * {@link place} would send, or the `InvalidParameter` it would fail with.
 *
 * @since 0.1.0
 */
export const validateParameters: (
  definitions: ReadonlyArray<Service.ParameterDef>,
  parameters: Parameters
) => Effect.Effect<ReadonlyArray<{ readonly name: string; readonly value: string }>, InvalidParameter> = checkParameters

/** Options of {@link products}. @since 0.1.0 */
export interface ProductsOptions {
  /** Products per follow-up request, 1..50 (default 50). */
  readonly pageSize?: number | undefined
  /** Start at the page this cursor (a previous page's `next`) points at, instead of the products in the order record. */
  readonly cursor?: string | undefined
}

const productPageSchema = Listings.PageSchema(ProductFromWire)
const productStatuses = [400, 403, 404, 422, 501] as const

/** The errors of {@link products}. @since 0.1.0 */
export type ProductsError = GetError | Http.StatusError<(typeof productStatuses)[number]> | PagingError

/**
 * All products of an order, page by page: the first page is the one embedded in the order record; further
 * pages, if its links announce any, come from `GET /1/orders/{id}/products?page=…` (**inferred**: the cursor of
 * the embedded list's `next` link is honoured there, as the spec's paging convention says).
 *
 * @since 0.1.0
 */
export const productPages = (id: Urn.OrderUrn | string, options?: ProductsOptions): Stream.Stream<Paging.Page<Product>, ProductsError, IvcapClient> =>
  Stream.unwrap(Effect.gen(function*() {
    const urn = yield* Urn.validate(Urn.OrderUrn, "id")(id)
    const limit = yield* Listings.validatePageSize(options?.pageSize)
    const client = yield* IvcapClient
    const path = `${Paths.orders}/${Urn.pathSegment(urn)}/products`
    const url = client.resolve(path)
    const handle = Http.expect(200, productStatuses).json(productPageSchema)
    const fetch = (cursor: Option.Option<string>): Effect.Effect<Paging.Page<Product>, ProductsError, IvcapClient> =>
      Option.isNone(cursor)
        ? Effect.flatMap(get(urn), (order) => Listings.toPage(url)(order.products))
        : client.call(Listings.pageRequest(path, cursor, limit, {}), handle).pipe(
          Effect.flatMap(Listings.toPage(url)),
          Effect.withSpan("ivcap.Order.products", { attributes: { "ivcap.id": urn, "ivcap.page": cursor.value } })
        )
    return Listings.pages(url, fetch, Option.fromNullable(options?.cursor))
  }))

/**
 * All products of an order, as a Stream of items.
 *
 * @since 0.1.0
 */
export const products = (id: Urn.OrderUrn | string, options?: ProductsOptions): Stream.Stream<Product, ProductsError, IvcapClient> =>
  Paging.items(productPages(id, options))

const metadataOps = Aspect.metadataFor(Urn.OrderUrn, "Order")

/**
 * The aspects whose entity is this order (the Python `Order.metadata`, which is broken there).
 *
 * @since 0.1.0
 */
export const metadata: (id: Urn.OrderUrn | string, options?: Omit<Aspect.ListOptions, "entity">) => Stream.Stream<Aspect.AspectSummary, Paging.ListError, IvcapClient> =
  (id, options) => metadataOps.metadata(id, options)

/**
 * Adds a metadata aspect to this order; the schema comes from `options.schema` or `content["$schema"]`. Returns
 * the new aspect's id.
 *
 * @since 0.1.0
 */
export const addMetadata: (id: Urn.OrderUrn | string, content: unknown, options?: Aspect.WriteOptions) => Effect.Effect<Urn.AspectUrn, Aspect.AddError, IvcapClient> =
  (id, content, options) => metadataOps.addMetadata(id, content, options)

/**
 * The default polling of {@link watch}/{@link waitFor}: every 0.5 s, growing by ×1.5 up to every 10 s.
 *
 * @since 0.1.0
 */
export const defaultPollSchedule: Schedule.Schedule<unknown> = Schedule.exponential("500 millis", 1.5).pipe(
  Schedule.union(Schedule.spaced("10 seconds"))
)

/** Options of {@link watch} and {@link waitFor}. @since 0.1.0 */
export interface WatchOptions {
  /** Stop at these statuses; default {@link terminalStatuses}. */
  readonly until?: Iterable<OrderStatus> | undefined
  /** When to read the order again; default {@link defaultPollSchedule}. A schedule that ends ends the watch. */
  readonly schedule?: Schedule.Schedule<unknown> | undefined
}

/**
 * Follows an order: reads it now and then on `schedule`, emitting the record each time its status changes, and
 * ends after the first record in an `until` status (terminal by default).
 *
 * @example
 * Order.watch(order.id).pipe(Stream.runForEach((o) => Console.log(o.status)))
 * @since 0.1.0
 */
export const watch = (id: Urn.OrderUrn | string, options?: WatchOptions): Stream.Stream<OrderDetails, GetError, IvcapClient> => {
  const until: ReadonlySet<OrderStatus> = new Set(options?.until ?? terminalStatuses)
  return Stream.repeatEffectWithSchedule(get(id), options?.schedule ?? defaultPollSchedule).pipe(
    Stream.changesWith((a, b) => a.status === b.status),
    Stream.takeUntil((o) => until.has(o.status))
  )
}

/**
 * Waits until an order reaches an `until` status (terminal by default) and returns it then — or, if `schedule`
 * ends first, as last read. Bound the wait with `Effect.timeout`.
 *
 * @example
 * Order.place(serviceId, { msg: "hi" }).pipe(Effect.flatMap((o) => Order.waitFor(o.id)), Effect.timeout("5 minutes"))
 * @since 0.1.0
 */
export const waitFor = (id: Urn.OrderUrn | string, options?: WatchOptions): Effect.Effect<OrderDetails, GetError, IvcapClient> =>
  Stream.runLast(watch(id, options)).pipe(
    // The stream always has a first element (or failed), so `None` cannot happen; `get` keeps the types total.
    Effect.flatMap(Option.match({ onNone: () => get(id), onSome: Effect.succeed })),
    Effect.withSpan("ivcap.Order.waitFor", { attributes: { "ivcap.id": String(id) } })
  )
