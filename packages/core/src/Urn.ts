/**
 * Branded IVCAP identifiers. Every id an operation takes is checked against these before any request is made,
 * so a typo is an `InvalidArgument`, not a 404 (or worse, a request to another route).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as FastDecode from "./internal/fastDecode.js"
import { InvalidArgument } from "./IvcapError.js"

// An id segment: no characters that change the meaning of a URL (path separators, query, fragment, whitespace).
const idPart = "[A-Za-z0-9][A-Za-z0-9._~:@!$&'()*+,;=-]*"

const ivcapUrn = <const K extends string>(kind: K) => {
  const pattern = new RegExp(`^urn:ivcap:${kind}:${idPart}$`)
  return Schema.String.pipe(
    Schema.filter((s) => pattern.test(s) || `expected an IVCAP ${kind} URN (urn:ivcap:${kind}:<id>), got ${JSON.stringify(s)}`, {
      // For `Arbitrary.make` (test data): a filter alone would have fast-check guess strings until one matches.
      arbitrary: () => (fc) => fc.uuid().map((id) => `urn:ivcap:${kind}:${id}`)
    }),
    Schema.brand(`${kind[0]!.toUpperCase()}${kind.slice(1)}Urn` as `${Capitalize<K>}Urn`)
  )
}

/** Any URN (`urn:<nid>:<nss>`), e.g. an aspect entity or a collection. @since 0.1.0 */
export const Urn = Schema.String.pipe(
  Schema.filter((s) => /^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[^\s/?#]+$/.test(s) || `expected a URN (urn:<nid>:<id>), got ${JSON.stringify(s)}`, {
    arbitrary: () => (fc) => fc.tuple(fc.constantFrom("ivcap:entity", "example", "x-1"), fc.uuid()).map(([nid, id]) => `urn:${nid}:${id}`)
  }),
  Schema.brand("Urn")
)
/** @since 0.1.0 */
export type Urn = typeof Urn.Type

/** `urn:ivcap:service:…` @since 0.1.0 */
export const ServiceUrn = ivcapUrn("service")
/** @since 0.1.0 */
export type ServiceUrn = typeof ServiceUrn.Type

/** `urn:ivcap:order:…` @since 0.1.0 */
export const OrderUrn = ivcapUrn("order")
/** @since 0.1.0 */
export type OrderUrn = typeof OrderUrn.Type

/** `urn:ivcap:job:…` (API v0.44+) @since 0.2.0 */
export const JobUrn = ivcapUrn("job")
/** @since 0.2.0 */
export type JobUrn = typeof JobUrn.Type

/** `urn:ivcap:artifact:…` @since 0.1.0 */
export const ArtifactUrn = ivcapUrn("artifact")
/** @since 0.1.0 */
export type ArtifactUrn = typeof ArtifactUrn.Type

/** `urn:ivcap:aspect:…` @since 0.1.0 */
export const AspectUrn = ivcapUrn("aspect")
/** @since 0.1.0 */
export type AspectUrn = typeof AspectUrn.Type

/** `urn:ivcap:policy:…` @since 0.1.0 */
export const PolicyUrn = ivcapUrn("policy")
/** @since 0.1.0 */
export type PolicyUrn = typeof PolicyUrn.Type

/** `urn:ivcap:account:…` @since 0.1.0 */
export const AccountUrn = ivcapUrn("account")
/** @since 0.1.0 */
export type AccountUrn = typeof AccountUrn.Type

/**
 * Checks a caller-supplied value against a URN schema; fails with `InvalidArgument` naming the argument.
 * Accepts values that are already branded as well as plain strings.
 *
 * @since 0.1.0
 */
export const validate = <A, I>(schema: Schema.Schema<A, I>, argument: string): (value: unknown) => Effect.Effect<A, InvalidArgument> => {
  const decode = Schema.decodeUnknown(schema)
  // The compiled decoder first (internal/fastDecode); a failure is Effect's own, as before.
  return FastDecode.withFallback(schema, (value: unknown) =>
    Effect.mapError(decode(value), (e) =>
      new InvalidArgument({
        argument,
        message: `${argument}: ${ParseResult.ArrayFormatter.formatErrorSync(e).map((issue) => issue.message).join("; ")}`
      })))
}

/** Percent-encodes an id for use as one path segment (colons included, as the newer Python client does). @since 0.1.0 */
export const pathSegment = (id: string): string => encodeURIComponent(id)
