/** The `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP date. */
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

/** `Retry-After` as seconds or an HTTP date (a date in the past is zero). */
export const parseRetryAfter = (value: string | undefined, now: number = Date.now()): Option.Option<Duration.Duration> => {
  if (value === undefined || value.trim() === "") return Option.none()
  const trimmed = value.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Option.some(Duration.seconds(Number(trimmed)))
  const at = Date.parse(trimmed)
  return Number.isNaN(at) ? Option.none() : Option.some(Duration.millis(Math.max(0, at - now)))
}
