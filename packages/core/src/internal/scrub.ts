/**
 * Errors with a value they must not carry (a secret, the bearer token) taken out: a server may echo a request's
 * content or headers in its answer, which the SDK's errors quote.
 */
import * as Predicate from "effect/Predicate"

/**
 * Values shorter than this are left alone: replacing every occurrence of a two-letter "secret" would mangle the
 * error, and a real token or secret is longer.
 */
const minimumLength = 6

/** What replaces a secret value found in an error. */
const scrubbed = "<redacted>"

const containsValue = (u: unknown, value: string): boolean => {
  if (typeof u === "string") return u.includes(value)
  if (u instanceof Error && (u.message.includes(value) || (u.stack ?? "").includes(value))) return true
  try {
    return (JSON.stringify(u) ?? "").includes(value) || String(u).includes(value)
  } catch {
    return true
  }
}

/**
 * An error with every occurrence of `value` replaced (a server may echo a request's content in its message): its
 * string fields scrubbed and a `cause` that shows the value dropped, rebuilt with its own class so its tag, message
 * and stack are clean too. Errors without the value are returned as they are.
 */
export const scrub = (value: string) => <E>(error: E): E => {
  if (value.length < minimumLength || !Predicate.isObject(error) || !containsValue(error, value)) return error
  const props: Record<string, unknown> = {}
  // own names, not entries: an Error's `message` is not enumerable
  for (const k of Object.getOwnPropertyNames(error)) {
    if (k === "_tag" || k === "stack") continue
    const v: unknown = (error as Record<string, unknown>)[k]
    if (k === "cause") {
      if (!containsValue(v, value)) props[k] = v
      continue
    }
    props[k] = typeof v === "string" ? v.split(value).join(scrubbed) : v
  }
  const Ctor = (error as { constructor: new(props: Record<string, unknown>, disableValidation: boolean) => E }).constructor
  return new Ctor(props, true)
}
