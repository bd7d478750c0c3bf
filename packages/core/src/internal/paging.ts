/**
 * The plumbing of paged listings (wire doc §5): page-size checks, `next` cursors, the loop that follows them
 * (stopping on a repeated cursor or an endless run of empty pages), and the standard listing endpoint.
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { IvcapClient } from "../IvcapClient.js"
import { InvalidArgument, PagingError } from "../IvcapError.js"
import type { ListError, ListOptions, Listing, Page } from "../Paging.js"
import { defaultPageSize, items, Link, maxPageSize } from "../Paging.js"
import * as Http from "./http.js"

/** Checks a page size (an integer in 1..50) before any request. */
export const validatePageSize = (pageSize: number | undefined): Effect.Effect<number, InvalidArgument> => {
  const size = pageSize ?? defaultPageSize
  return Number.isInteger(size) && size >= 1 && size <= maxPageSize
    ? Effect.succeed(size)
    : Effect.fail(new InvalidArgument({ argument: "pageSize", message: `pageSize must be an integer from 1 to ${maxPageSize}, got ${size}` }))
}

/**
 * The `page` cursor of a `next` link. The API's next hrefs carry only `page=<token>` in their query; the cursor is
 * sent back to the configured deployment, never to the href's host.
 */
export const cursorOf = (links: ReadonlyArray<Link>): Either.Either<Option.Option<string>, string> => {
  const next = links.find((l) => l.rel === "next")
  if (next === undefined) return Either.right(Option.none())
  let url: URL
  try {
    url = new URL(next.href, "http://relative.invalid")
  } catch {
    return Either.left(`malformed next link ${JSON.stringify(next.href)}`)
  }
  const page = url.searchParams.get("page")
  return page === null || page === ""
    ? Either.left(`next link without a page cursor: ${JSON.stringify(next.href)}`)
    : Either.right(Option.some(page))
}

/** How many empty pages in a row (each with a next link) are followed before the listing is declared broken. */
const maxEmptyPagesInARow = 10

/** The ids of a page's first and last items and its length, or "" when its items have no string ids. */
const identityOf = (items: ReadonlyArray<unknown>): string => {
  const idOf = (item: unknown) => (typeof item === "object" && item !== null && typeof (item as { id?: unknown }).id === "string" ? (item as { id: string }).id : undefined)
  const first = idOf(items[0])
  const last = idOf(items[items.length - 1])
  return first === undefined || last === undefined ? "" : `${items.length} ${first} ${last}`
}

/**
 * Follows a listing page by page. `fetch` gets `None` for the first page and the cursor for the others. A
 * cursor that comes back a second time, a page of the same items as the one before (under a new cursor), or a run
 * of empty pages that never ends, fails with `PagingError` instead of looping forever.
 */
export const pages = <A, E, R>(
  url: string,
  fetch: (cursor: Option.Option<string>) => Effect.Effect<Page<A>, E, R>,
  start: Option.Option<string> = Option.none()
): Stream.Stream<Page<A>, E | PagingError, R> =>
  Stream.suspend(() => {
    // Per run of the stream: the cursors seen so far (one set, added to — not copied — per page).
    const seen = new Set<string>(Option.toArray(start))
    let empty = 0
    // The previous page's items by id (first, last, count): the same page again under a fresh cursor is a loop too.
    let previous = ""
    return Stream.paginateEffect(start, (cursor) =>
      Effect.flatMap(fetch(cursor), (page) => {
        if (Option.isNone(page.next)) return Effect.succeed([page, Option.none()] as const)
        const next = page.next.value
        if (seen.has(next)) {
          return Effect.fail(new PagingError({ url, message: `the server repeated the page cursor ${JSON.stringify(next)}; stopping instead of looping` }))
        }
        empty = page.items.length === 0 ? empty + 1 : 0
        if (empty >= maxEmptyPagesInARow) {
          return Effect.fail(new PagingError({ url, message: `${empty} empty pages in a row, each with a next link; stopping` }))
        }
        const same = identityOf(page.items)
        if (same !== "" && same === previous) {
          return Effect.fail(new PagingError({ url, message: `the server sent the same items again under a new cursor ${JSON.stringify(next)}; stopping instead of looping` }))
        }
        previous = same
        seen.add(next)
        return Effect.succeed([page, Option.some(page.next)] as const)
      }))
  })

/**
 * The query of a first page, or just `page` + `limit` for the following ones (as the API honours nothing else
 * then).
 */
export const pageRequest = (
  path: string,
  cursor: Option.Option<string>,
  limit: number,
  query: Record<string, string | undefined>
): HttpClientRequest.HttpClientRequest =>
  HttpClientRequest.get(path).pipe(
    HttpClientRequest.setUrlParams(
      Option.match(cursor, {
        onNone: () => ({ ...Http.definedOnly(query), limit: String(limit) }),
        onSome: (page) => ({ page, limit: String(limit) })
      })
    )
  )


/** The first page of a page Stream (which always has one). */
export const single = <A, E, R>(self: Stream.Stream<Page<A>, E, R>): Effect.Effect<Page<A>, E, R> =>
  Effect.map(Stream.runHead(self), Option.getOrElse((): Page<A> => ({ items: [], next: Option.none(), atTime: Option.none(), links: [] })))

/**
 * The wire shape of a listing page: `items`, `links` and (usually) `at-time`.
 */
export const PageSchema = <A, I, R>(item: Schema.Schema<A, I, R>) =>
  Schema.Struct({
    atTime: Schema.optionalWith(Schema.DateTimeUtc, { as: "Option", exact: true }).pipe(Schema.fromKey("at-time")),
    items: Schema.Array(item),
    links: Schema.Array(Link)
  })

/**
 * A listing endpoint as a Stream of pages: validates the page size, sends the first query, then follows the
 * `next` cursors with `page` + `limit` only.
 */
export const listing = <A, I, R>(options: {
  readonly path: string
  readonly item: Schema.Schema<A, I, R>
  readonly query: Record<string, string | undefined>
  readonly pageSize: number | undefined
  readonly cursor?: string | undefined
  readonly span: string
  /** Adjusts each page request (e.g. `POST` with a body, for search); the URL parameters are already set. */
  readonly request?: ((request: HttpClientRequest.HttpClientRequest) => HttpClientRequest.HttpClientRequest) | undefined
  /** Whether a page request may be retried; default: by method (see `IvcapClient.call`). */
  readonly idempotent?: boolean | undefined
}): Stream.Stream<Page<A>, ListError, R | IvcapClient> =>
  Stream.unwrap(Effect.gen(function*() {
    const limit = yield* validatePageSize(options.pageSize)
    const client = yield* IvcapClient
    const schema = PageSchema(options.item)
    const handle = Http.expect(200, listStatuses).json(schema)
    const adjust = options.request ?? ((request: HttpClientRequest.HttpClientRequest) => request)
    const fetch = (cursor: Option.Option<string>) =>
      client.call(adjust(pageRequest(options.path, cursor, limit, options.query)), handle, { idempotent: options.idempotent }).pipe(
        Effect.flatMap(toPage(client.resolve(options.path))),
        // No stack trace per page span: capturing one is a measurable share of a page's client CPU.
        Effect.withSpan(options.span, { attributes: { "ivcap.page": Option.getOrElse(cursor, () => "first"), "ivcap.limit": limit }, captureStackTrace: false })
      )
    return pages(client.resolve(options.path), fetch, Option.fromNullable(options.cursor))
  }))

/**
 * A decoded wire page as a {@link Page}: its `next` cursor read from the links (a malformed next link is a
 * `PagingError` for `url`).
 */
export const toPage = (url: string) =>
<A>(wire: { readonly items: ReadonlyArray<A>; readonly links: ReadonlyArray<Link>; readonly atTime?: Option.Option<DateTime.Utc> }): Effect.Effect<Page<A>, PagingError> =>
  Either.match(cursorOf(wire.links), {
    onLeft: (message) => Effect.fail(new PagingError({ url, message })),
    onRight: (next) => Effect.succeed<Page<A>>({ items: wire.items, next, atTime: wire.atTime ?? Option.none(), links: wire.links })
  })

const ListQueryWire = /*#__PURE__*/ Schema.Struct({
  filter: Schema.optional(Schema.String),
  orderBy: Schema.optional(Schema.String).pipe(Schema.fromKey("order-by")),
  orderDesc: Schema.optional(Schema.BooleanFromString).pipe(Schema.fromKey("order-desc")),
  atTime: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("at-time"))
})

const listStatuses = [400, 403, 415, 422, 501] as const

/** Encodes the shared list options to their wire query (`order-by`, `order-desc`, `at-time`). */
export const listQuery = (options: ListOptions | undefined): Record<string, string | undefined> =>
  Schema.encodeSync(ListQueryWire)({
    filter: options?.filter,
    orderBy: options?.orderBy,
    orderDesc: options?.orderDirection === undefined ? options?.orderDesc : options.orderDirection === "DESC",
    atTime: options?.atTime === undefined ? undefined : DateTime.toUtc(options.atTime)
  })

/**
 * A standard listing endpoint (services, orders, artifacts): pages, items and one page, with the shared
 * list options.
 */
export const makeListing = <A, I>(path: string, item: Schema.Schema<A, I>, span: string): Listing<A> => {
  const listPages = (options?: ListOptions) =>
    listing({ path, item, query: listQuery(options), pageSize: options?.pageSize, cursor: options?.cursor, span })
  return { listPages, list: (options) => items(listPages(options)), page: (options) => single(listPages(options)) }
}
