/**
 * Secrets of the account (`/1/secrets`, API v0.44+; wire doc §12): set one, read one, list their names. The value is
 * a `Redacted<string>` on both sides — it renders as `<redacted>` in logs, `JSON.stringify` and errors — and no
 * error of this module ever carries it: a failed set has the value scrubbed from whatever the server answered, a
 * read's decode errors name the field but never show a value, and its unexpected answers keep no body.
 *
 * Covers the Python client's `IVCAP.list_secrets` and the CLI's `ivcap secret list | get | set`.
 *
 * Wire facts the spec leaves open **(inferred)**: `expiry-time` is Unix seconds and 0 means "never" (the CLI
 * formats it with `time.Unix(t, 0)`, sends 0 without `--expire` and shows 0 as N/A).
 *
 * @example
 * Secret.set("db-password", Redacted.make(password), { expiresIn: "30 days" }).pipe(
 *   Effect.zipRight(Secret.get("db-password")),
 *   Effect.map((secret) => Redacted.value(secret.value))
 * )
 * @since 0.1.0
 */
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Redacted from "effect/Redacted"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import * as Http from "./internal/http.js"
import * as Listings from "./internal/paging.js"
import * as Paths from "./internal/paths.js"
import { IvcapClient } from "./IvcapClient.js"
import type { RequestTimeout, TransportError } from "./IvcapError.js"
import { DecodeError, InvalidArgument, UnexpectedStatus } from "./IvcapError.js"
import * as Paging from "./Paging.js"
import { scrub } from "./internal/scrub.js"

/** An expiry in Unix seconds (0 = never) as a time, when it is one a `DateTime` can hold. */
const expiryOf = (seconds: number): Option.Option<DateTime.Utc> =>
  seconds <= 0 || !Number.isFinite(seconds) ? Option.none() : DateTime.make(seconds * 1000)

/** A secret as listed (`SecretListItem`): its name and expiry, never its value. @since 0.1.0 */
export class SecretSummary extends Schema.Class<SecretSummary>("SecretSummary")({
  name: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("secret-name")),
  /** Unix seconds; 0 = never expires. (An int64 on the wire: accepted whatever its size, see `expiresAt`.) */
  expiryTime: Schema.propertySignature(Schema.Number).pipe(Schema.fromKey("expiry-time"))
}) {
  /** When it expires; `None` for a secret that never does (0), or a time beyond what a `DateTime` holds. */
  get expiresAt(): Option.Option<DateTime.Utc> {
    return expiryOf(this.expiryTime)
  }
}

/** A secret as read (`SecretResultT`): `value` is `Redacted` — `Redacted.value` reveals it. @since 0.1.0 */
export class SecretRecord extends Schema.Class<SecretRecord>("SecretRecord")({
  name: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("secret-name")),
  value: Schema.propertySignature(Schema.Redacted(Schema.String)).pipe(Schema.fromKey("secret-value")),
  /** Unix seconds; 0 = never expires. (An int64 on the wire: accepted whatever its size, see `expiresAt`.) */
  expiryTime: Schema.propertySignature(Schema.Number).pipe(Schema.fromKey("expiry-time"))
}) {
  /** When it expires; `None` for a secret that never does. */
  get expiresAt(): Option.Option<DateTime.Utc> {
    return expiryOf(this.expiryTime)
  }
}

/** The body of a set (`SetSecretRequestT`). */
const SetRequest = Schema.Struct({
  name: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("secret-name")),
  value: Schema.propertySignature(Schema.Redacted(Schema.String)).pipe(Schema.fromKey("secret-value")),
  type: Schema.optional(Schema.String).pipe(Schema.fromKey("secret-type")),
  expiryTime: Schema.propertySignature(Schema.Int).pipe(Schema.fromKey("expiry-time"))
})

/** The query of a read. */
const GetQuery = Schema.Struct({
  name: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("secret-name")),
  type: Schema.optional(Schema.String).pipe(Schema.fromKey("secret-type"))
})

/** The query of a listing. */
const ListQuery = Schema.Struct({
  filter: Schema.optional(Schema.String),
  offset: Schema.optional(Schema.String)
})

/** Options of {@link set}. @since 0.1.0 */
export interface SetOptions {
  /** When the secret expires (sent as Unix seconds). Without it (or `expiresIn`), it never does. */
  readonly expiresAt?: DateTime.DateTime | Date | undefined
  /** How long from now (the `Clock`'s now) it is valid; an alternative to `expiresAt`. */
  readonly expiresIn?: Duration.DurationInput | undefined
  /** The `secret-type` (the spec's example: `raw`); the server's default when absent. */
  readonly type?: string | undefined
}

/** Options of {@link get}. @since 0.1.0 */
export interface GetOptions {
  /** The `secret-type` to read. */
  readonly type?: string | undefined
}

/** Options of {@link list}. @since 0.1.0 */
export interface ListOptions {
  /** A name pattern (the spec's example: `test.*`, a regular expression). */
  readonly filter?: string | undefined
  /** The CLI's `--offset`: where to start (a count or the server's offset token). */
  readonly offset?: string | number | undefined
  /** Items per request, 1..50 (default 50); how many to take is up to the Stream's consumer. */
  readonly pageSize?: number | undefined
  /** Start at the page this cursor (a previous page's `next`) points at. */
  readonly cursor?: string | undefined
}

const setStatuses = [400, 403, 404, 422, 501] as const
const getStatuses = [400, 403, 404, 422, 501] as const

/** The errors of {@link set}. @since 0.1.0 */
export type SetError = Http.StatusError<(typeof setStatuses)[number]> | InvalidArgument | TransportError | RequestTimeout

/** The errors of {@link get} (`ResourceNotFound`: no such secret, or expired). @since 0.1.0 */
export type GetError = Http.StatusError<(typeof getStatuses)[number]> | InvalidArgument | TransportError | RequestTimeout

const invalid = (argument: string, message: string) => new InvalidArgument({ argument, message })

/** A secret name: non-empty, without control characters (they could not travel in a query). */
const validateName = (name: unknown): Effect.Effect<string, InvalidArgument> =>
  typeof name !== "string" || name === ""
    ? Effect.fail(invalid("name", "the secret name must be a non-empty string"))
    : /\p{Cc}/u.test(name)
    ? Effect.fail(invalid("name", `the secret name must not contain control characters, got ${JSON.stringify(name)}`))
    : Effect.succeed(name)

/** The expiry of a set in Unix seconds (0 = never). */
const expiryTime = (options: SetOptions | undefined): Effect.Effect<number, InvalidArgument> =>
  Effect.gen(function*() {
    if (options?.expiresAt !== undefined && options.expiresIn !== undefined) {
      return yield* invalid("expiresAt", "give expiresAt or expiresIn, not both")
    }
    let millis: number
    if (options?.expiresAt !== undefined) {
      const at = options.expiresAt
      millis = at instanceof Date ? at.getTime() : DateTime.toEpochMillis(at)
    } else if (options?.expiresIn !== undefined) {
      const d = Duration.decodeUnknown(options.expiresIn)
      if (Option.isNone(d) || !Duration.isFinite(d.value)) return yield* invalid("expiresIn", "expiresIn must be a finite duration")
      millis = (yield* DateTime.now).epochMillis + Duration.toMillis(d.value)
    } else {
      return 0
    }
    const seconds = Math.ceil(millis / 1000)
    return Number.isSafeInteger(seconds) && seconds > 0
      ? seconds
      : yield* invalid(options?.expiresAt !== undefined ? "expiresAt" : "expiresIn", "the expiry must be a time after 1970")
  })


/** A set's answer: `204` (the spec's), or `200` / `202` (whatever body they carry is not read). */
const setHandle = Http.expectDone(setStatuses)

/**
 * Sets a secret — creating it, or overwriting the one of that name (`POST /1/secrets` → 204, or 200 / 202). The value
 * is sent in the body only; a transient failure is retried (setting the same value again changes nothing).
 *
 * @example
 * Secret.set("smtp-password", Redacted.make(process.env.SMTP_PASSWORD ?? ""), { expiresIn: "90 days" })
 * @since 0.1.0
 */
export const set = (
  name: string,
  value: Redacted.Redacted<string> | string,
  options?: SetOptions
): Effect.Effect<void, SetError, IvcapClient> => {
  const secret = Redacted.isRedacted(value) ? value : Redacted.make(value)
  return Effect.gen(function*() {
    const secretName = yield* validateName(name)
    if (typeof Redacted.value(secret) !== "string") return yield* invalid("value", "the secret value must be a string")
    const expiry = yield* expiryTime(options)
    if (options?.type !== undefined && options.type.trim() === "") return yield* invalid("type", "type must not be empty")
    const client = yield* IvcapClient
    const body = Schema.encodeSync(SetRequest)({ name: secretName, value: secret, type: options?.type, expiryTime: expiry })
    return yield* client.call(
      HttpClientRequest.post(Paths.secrets).pipe(HttpClientRequest.bodyUnsafeJson(body)),
      setHandle,
      { idempotent: true }
    )
  }).pipe(
    Effect.mapError(scrub(Redacted.value(secret))),
    Effect.withSpan("ivcap.Secret.set", { attributes: { "ivcap.secret": name } })
  )
}

/** Issue by issue, where and what — never the offending value (it may be the secret). */
const describeIssues = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join(".") : "(root)"
      const what = issue._tag === "Missing" ? "is missing" : issue._tag === "Unexpected" ? "is not expected" : "is not valid"
      return `${where}: ${what}`
    })
    .join("; ")

const decodeRecord = Schema.decodeUnknown(SecretRecord, { onExcessProperty: "ignore" })

/**
 * A read's 200 body as the {@link SecretRecord} of `name`; a failure says which field, never a value (and keeps no
 * cause). A record of another name is a `DecodeError` too: the server answered for another secret.
 */
const readRecord = (name: string) => (response: HttpClientResponse.HttpClientResponse) =>
  Effect.flatMap(Effect.mapError(response.text, Http.transportError), (text) => {
    const where = Http.describe(response.request)
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      return Effect.fail(new DecodeError({ ...where, message: "secret: the response is not JSON (its text withheld)" }))
    }
    return Effect.flatMap(
      Effect.mapError(decodeRecord(json), (e) => new DecodeError({ ...where, message: `secret: ${describeIssues(e)}` })),
      (record) =>
        record.name === name
          ? Effect.succeed(record)
          : Effect.fail(new DecodeError({ ...where, message: `secret: asked for ${JSON.stringify(name)}, the server answered for ${JSON.stringify(record.name)}` }))
    )
  })

/** A read that was not answered with 200 keeps no body: it could be the value. */
const withheld = (error: GetError): GetError =>
  error._tag === "UnexpectedStatus" ? new UnexpectedStatus({ ...error, body: "(withheld: the answer to a secret read)" }) : error

const getHandle = (name: string) => {
  const read = readRecord(name)
  return (response: HttpClientResponse.HttpClientResponse): Effect.Effect<SecretRecord, Exclude<GetError, InvalidArgument | RequestTimeout>> =>
    response.status === 200 ? read(response) : Http.failStatus(getStatuses)(response)
}

/**
 * Reads a secret, value included (`GET /1/secrets?secret-name=`); `ResourceNotFound` when there is none of that
 * name (or it expired), a `DecodeError` when the server answers with a secret of another name.
 *
 * @example
 * Secret.get("db-password").pipe(Effect.map((s) => connect({ password: Redacted.value(s.value) })))
 * @since 0.1.0
 */
export const get = (name: string, options?: GetOptions): Effect.Effect<SecretRecord, GetError, IvcapClient> =>
  Effect.gen(function*() {
    const secretName = yield* validateName(name)
    const client = yield* IvcapClient
    const query = Schema.encodeSync(GetQuery)({ name: secretName, type: options?.type })
    return yield* client.call(HttpClientRequest.get(Paths.secrets).pipe(HttpClientRequest.setUrlParams(Http.definedOnly(query))), getHandle(secretName))
  }).pipe(
    Effect.mapError(withheld),
    Effect.withSpan("ivcap.Secret.get", { attributes: { "ivcap.secret": name } })
  )

/** Just the value of a secret ({@link get}, then `value`). @since 0.1.0 */
export const value = (name: string, options?: GetOptions): Effect.Effect<Redacted.Redacted<string>, GetError, IvcapClient> =>
  Effect.map(get(name, options), (secret) => secret.value)

/**
 * The names (and expiry times) of the account's secrets, page by page (`GET /1/secrets/list`).
 *
 * @since 0.1.0
 */
export const listPages = (options?: ListOptions): Stream.Stream<Paging.Page<SecretSummary>, Paging.ListError, IvcapClient> =>
  Listings.listing({
    path: `${Paths.secrets}/list`,
    item: SecretSummary,
    query: Schema.encodeSync(ListQuery)({
      filter: options?.filter,
      offset: options?.offset === undefined ? undefined : String(options.offset)
    }),
    pageSize: options?.pageSize,
    cursor: options?.cursor,
    span: "ivcap.Secret.list"
  })

/**
 * The account's secrets as a Stream of names and expiry times (values are read one by one with {@link get}).
 *
 * @example
 * Secret.list({ filter: "db-.*" }).pipe(Stream.map((s) => s.name), Stream.runCollect)
 * @since 0.1.0
 */
export const list = (options?: ListOptions): Stream.Stream<SecretSummary, Paging.ListError, IvcapClient> =>
  Paging.items(listPages(options))

/** One page of secrets: the first, or the one `options.cursor` points at. @since 0.1.0 */
export const page = (options?: ListOptions): Effect.Effect<Paging.Page<SecretSummary>, Paging.ListError, IvcapClient> =>
  Listings.single(listPages(options))
