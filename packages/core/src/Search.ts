/**
 * Datalog search (`POST /1/search`, wire doc §3.15, §9): the query is Mangle Datalog text sent as
 * `application/datalog+mangle`; each result is an object of the query's bound variables (`{"Id": …, "Name": …}`),
 * paged like every listing. Decode them per variable with {@link searchAs}. Covers the Python client's
 * `IVCAP.search` (which returns only the first page, has no `at-time` and raises a bare exception on errors).
 * The guide with real queries: docs/search.md.
 *
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as DateTime from "effect/DateTime"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Http from "./internal/http.js"
import type { IvcapClient } from "./IvcapClient.js"
import type { DecodeError } from "./IvcapError.js"
import { InvalidArgument } from "./IvcapError.js"
import * as Listings from "./internal/paging.js"
import * as Paths from "./internal/paths.js"
import * as Paging from "./Paging.js"

/** The content type of a search query. @since 0.1.0 */
export const contentType = "application/datalog+mangle"

/** Options of {@link search}. @since 0.1.0 */
export interface SearchOptions {
  /** Search the state at that time (default: now). */
  readonly atTime?: DateTime.DateTime | undefined
  /** Results per request, 1..50 (default 50); how many to take is up to the Stream's consumer. */
  readonly pageSize?: number | undefined
  /** Start at the page this cursor (a previous page's `next`) points at. */
  readonly cursor?: string | undefined
}

/** The errors of a search (`UnsupportedContentType`, `NotImplemented` included). @since 0.1.0 */
export type SearchError = Paging.ListError

/**
 * The results of a search, page by page. Each page re-sends the query with the cursor. Search only reads, so —
 * although a `POST` — its requests are retried like a `GET` on transient failures.
 *
 * @since 0.1.0
 */
export const searchPages = (query: string, options?: SearchOptions): Stream.Stream<Paging.Page<unknown>, SearchError, IvcapClient> =>
  query.trim() === ""
    ? Stream.fail(new InvalidArgument({ argument: "query", message: "the search query must not be empty" }))
    : Listings.listing({
      path: Paths.search,
      item: Schema.Unknown,
      query: Listings.listQuery({ atTime: options?.atTime }),
      pageSize: options?.pageSize,
      cursor: options?.cursor,
      span: "ivcap.Search.search",
      request: (request) => request.pipe(HttpClientRequest.setMethod("POST"), HttpClientRequest.bodyText(query, contentType)),
      idempotent: true
    })

/**
 * The results of a Datalog query as a Stream of JSON values; decode them with {@link decodeItems}.
 *
 * @example
 * Search.search(`:- ivcap_artifact(Id, Name, MimeType).`).pipe(Stream.take(10), Stream.runCollect)
 * @since 0.1.0
 */
export const search = (query: string, options?: SearchOptions): Stream.Stream<unknown, SearchError, IvcapClient> =>
  Paging.items(searchPages(query, options))

/** One page of results: the first, or the one `options.cursor` points at. @since 0.1.0 */
export const page = (query: string, options?: SearchOptions): Effect.Effect<Paging.Page<unknown>, SearchError, IvcapClient> =>
  Listings.single(searchPages(query, options))

/**
 * The Schema of one result: an object with one field per bound variable of the query, each decoded with its own
 * Schema (variables you leave out are ignored). Use it with {@link decodeItems}, or call {@link searchAs}.
 *
 * @example
 * const Row = Search.bindings({ Id: Schema.String, Name: Schema.String, MimeType: Schema.String })
 * @since 0.1.0
 */
export const bindings = <Fields extends Schema.Struct.Fields>(fields: Fields): Schema.Struct<Fields> => Schema.Struct(fields)

/**
 * The results of a query decoded per binding: `fields` maps each variable of the query (`Id`, `Name`, …) to the
 * Schema of its value. A result that does not fit fails the Stream with a `DecodeError` naming the result and the
 * variable.
 *
 * @example
 * Search.searchAs(`:- ivcap_artifact(Id, Name, MimeType), MimeType = "image/jpeg".`, {
 *   Id: Schema.String,
 *   Name: Schema.String
 * })
 * @since 0.1.0
 */
export const searchAs = <Fields extends Schema.Struct.Fields>(
  query: string,
  fields: Fields,
  options?: SearchOptions
): Stream.Stream<Schema.Schema.Type<Schema.Struct<Fields>>, SearchError | DecodeError, IvcapClient | Schema.Struct.Context<Fields>> =>
  search(query, options).pipe(decodeItems(bindings(fields)))

/**
 * A Mangle string literal for a value, escaped (`"`, `\\`, newlines): splice URNs and other text into a query
 * without breaking it.
 *
 * @example
 * const query = `:- ivcap_aspect(${Search.literal(artifactId)}, Schema, Content).`
 * @since 0.1.0
 */
export const literal = (value: string): string =>
  `"${value.replace(/\\/g, "\\\\").replace(/"/g, "\\\"").replace(/\n/g, "\\n").replace(/\t/g, "\\t").replace(/\r/g, "\\x0d")}"`

/**
 * Decodes each search result with your own Schema; a mismatch fails the Stream with a `DecodeError` naming the
 * item and field.
 *
 * @example
 * Search.search(query).pipe(Search.decodeItems(Schema.Struct({ Artifact: Schema.String })))
 * @since 0.1.0
 */
export const decodeItems = <A, I, RD>(schema: Schema.Schema<A, I, RD>) =>
<E, R>(self: Stream.Stream<unknown, E, R>): Stream.Stream<A, E | DecodeError, R | RD> =>
  Stream.mapEffect(
    Stream.zipWithIndex(self),
    ([item, index]) => Http.decodeValue(schema, { what: `search result #${index}` })(item)
  )
