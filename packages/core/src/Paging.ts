/**
 * Paged listings as Streams. IVCAP announces a further page only through a `links` entry with `rel: "next"`
 * whose href carries an opaque `page` cursor (wire doc §5); when `page` is sent, the server honours only
 * `limit` besides it. Page size (1..50) and how many items a caller takes are separate things: take with
 * `Stream.take`, and no page beyond what is taken is fetched.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import type * as DateTime from "effect/DateTime"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Http from "./internal/http.js"
import type { IvcapClient } from "./IvcapClient.js"
import type { InvalidArgument, PagingError, RequestTimeout, TransportError } from "./IvcapError.js"

/** A hypermedia link; all three keys are required on the wire. @since 0.1.0 */
export class Link extends /*#__PURE__*/ Schema.Class<Link>("Link")({
  rel: Schema.String,
  type: Schema.String,
  href: Schema.String
}) {}

/** One page of a listing. @since 0.1.0 */
export interface Page<A> {
  readonly items: ReadonlyArray<A>
  /** The `page` cursor of the next page, if the server announced one. */
  readonly next: Option.Option<string>
  /** The time the listing reflects, when the server says. */
  readonly atTime: Option.Option<DateTime.Utc>
  readonly links: ReadonlyArray<Link>
}

/** The largest page the API serves. @since 0.1.0 */
export const maxPageSize = 50

/** The page size used when the caller does not choose one. @since 0.1.0 */
export const defaultPageSize = 50

/** The items of a paged listing, in order. @since 0.1.0 */
export const items = <A, E, R>(self: Stream.Stream<Page<A>, E, R>): Stream.Stream<A, E, R> =>
  Stream.mapChunks(self, Chunk.flatMap((page) => Chunk.unsafeFromArray(page.items)))

/** Options of the services, orders and artifacts listings. @since 0.1.0 */
export interface ListOptions {
  /** A server-side filter, e.g. `name ~= 'fire%'`. */
  readonly filter?: string | undefined
  /** The property to order by. */
  readonly orderBy?: string | undefined
  /**
   * `"ASC"` or `"DESC"` (the API's default), the same option name and values as `Aspect.list`'s; sent as
   * `order-desc`.
   */
  readonly orderDirection?: "ASC" | "DESC" | undefined
  /** @deprecated Use `orderDirection` (`orderDesc: false` is `orderDirection: "ASC"`); ignored when that is given. */
  readonly orderDesc?: boolean | undefined
  /** The state at that time. */
  readonly atTime?: DateTime.DateTime | undefined
  /** Items per request, 1..50 (default 50); how many to take is up to the Stream's consumer. */
  readonly pageSize?: number | undefined
  /** Start at the page this cursor (a previous page's `next`) points at, instead of the first. */
  readonly cursor?: string | undefined
}

/** The errors of a listing. @since 0.1.0 */
export type ListError = Http.StatusError<400 | 403 | 415 | 422 | 501> | InvalidArgument | PagingError | TransportError | RequestTimeout

/** The three views of a standard listing endpoint. @since 0.1.0 */
export interface Listing<A> {
  readonly listPages: (options?: ListOptions) => Stream.Stream<Page<A>, ListError, IvcapClient>
  readonly list: (options?: ListOptions) => Stream.Stream<A, ListError, IvcapClient>
  readonly page: (options?: ListOptions) => Effect.Effect<Page<A>, ListError, IvcapClient>
}


/**
 * The listing plumbing that used to be exported here (`validatePageSize`, `cursorOf`, `pages`, `pageRequest`,
 * `single`, `PageSchema`, `listing`, `toPage`, `listQuery`, `makeListing`) lives in the SDK's internals now; these
 * names still work for 0.1.x.
 *
 * @deprecated Internal plumbing, not API: use the modules' `list` / `listPages` / `page` and {@link items}. Will be
 * removed in 0.2.
 * @since 0.1.0
 */
export {
  cursorOf,
  listing,
  listQuery,
  makeListing,
  pageRequest,
  pages,
  PageSchema,
  single,
  toPage,
  validatePageSize
} from "./internal/paging.js"
