/** `POST /1/search`, and the 501 answer for declared endpoints the emulator does not implement. */
import * as Effect from "effect/Effect"
import { json, mediaType, notImplementedResponse, unsupportedContentType } from "../http.js"
import { parseAtTime, parseLimit } from "../listing.js"
import { type Handler } from "../route.js"

/** `POST /1/search`: 415 unless `application/datalog+mangle`; otherwise 501 (the emulator has no Datalog engine). */
export const search: Handler = (ctx) =>
  Effect.gen(function*() {
    const ct = mediaType(ctx.request.headers["content-type"])
    if (ct !== "application/datalog+mangle") {
      return yield* unsupportedContentType(`cannot handle '${ct ?? ""}' (expected application/datalog+mangle)`)
    }
    yield* parseLimit(ctx.q)
    yield* parseAtTime(ctx.q, 0)
    return json({ message: "Method 'search' not implemented (the IVCAP emulator has no Datalog engine)" }, 501)
  })

/** A declared IVCAP endpoint the emulator does not implement: 501 `{message}`. */
export const notImplemented = (method: string): Handler => () => Effect.succeed(notImplementedResponse(method))

