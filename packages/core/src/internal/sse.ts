/**
 * Server-Sent Events framing over a byte Stream.
 *
 * Parser: `eventsource-parser` (3.x: Node ≥ 18 and every browser, no dependencies, about 1 kB gzip, the parser the
 * `eventsource` polyfill and most AI SDKs use). The 4.x line needs Node 22, above this SDK's floor (20.19). Only the
 * framing is delegated: connecting, `Last-Event-ID`, reconnecting and de-duplicating are the caller's, because
 * `EventSource` itself cannot send an `Authorization` header.
 */
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { createParser } from "eventsource-parser"
import { DecodeError } from "../IvcapError.js"

/** One event as framed on the wire. */
export interface SseMessage {
  /** The `id:` field, if the event had one. */
  readonly id: string | undefined
  /** The `event:` field, if the event had one. */
  readonly event: string | undefined
  /** The `data:` lines, joined with newlines. */
  readonly data: string
}

/** The largest event accepted (a line or event above this is a `DecodeError`, not unbounded memory). */
const maxEventBytes = 8 * 1024 * 1024

/**
 * The events of an SSE body, in order, as the bytes arrive. An event cut off by the end of the body (no blank line
 * after it) is dropped, as the SSE standard says. `onRetry` receives the server's `retry:` hints (milliseconds).
 */
export const messages = <E, R>(
  bytes: Stream.Stream<Uint8Array, E, R>,
  context: { readonly method: string; readonly url: string },
  onRetry?: (millis: number) => void
): Stream.Stream<SseMessage, E | DecodeError, R> =>
  Stream.suspend(() => {
    const decoder = new TextDecoder()
    let pending: Array<SseMessage> = []
    let overflow: string | undefined
    const parser = createParser({
      maxBufferSize: maxEventBytes,
      onEvent: (m) => {
        pending.push({ id: m.id, event: m.event, data: m.data })
      },
      ...(onRetry === undefined ? {} : { onRetry }),
      onError: (error) => {
        // invalid `retry:` values and unknown fields are ignored, as the standard says; an endless line is not.
        if (error.type === "max-buffer-size-exceeded") overflow = error.message
      }
    })
    return bytes.pipe(
      Stream.mapEffect((chunk) => {
        parser.feed(decoder.decode(chunk, { stream: true }))
        if (overflow !== undefined) {
          return Effect.fail(new DecodeError({ ...context, message: `event stream: ${overflow} (more than ${maxEventBytes} bytes without an event end)` }))
        }
        const out = pending
        pending = []
        return Effect.succeed(out)
      }),
      Stream.flattenIterables
    )
  })
