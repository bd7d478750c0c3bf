/**
 * Job events over Server-Sent Events (API v0.48, wire doc §15): `GET /1/services2/{service_id}/jobs/{job_id}/events`.
 *
 * - 200 `text/event-stream` (the spec's "101" is goa's marker for a streaming result; SSE clients such as the
 *   CLI's r3labs/sse and browsers' `EventSource` need 200). It starts with a comment line, then one SSE event per
 *   job event: `id: <SeqID>` and one `data:` line with the `JobEvent` JSON. No `event:` field, so `EventSource`'s
 *   `onmessage` sees every event. **(inferred)** the SSE `id:` carries `SeqID` (the spec: "used in Last-Event-Id").
 * - `Last-Event-ID` (request header): resume after that `SeqID`; seq ids are 1, 2, 3 … per job, never repeated or
 *   skipped, so a resumed stream continues exactly where the last one stopped.
 * - The stream ends (the connection closes cleanly) after the job's final event (status succeeded | failed), after
 *   `max-messages` events, or after `max-wait-time` seconds (emulator time, default 30) without a new event.
 * - 204 when the job has finished and `Last-Event-ID` is at or past its last event: nothing more will come (this is
 *   also what stops a browser `EventSource` from reconnecting).
 * - Events happen on the emulator clock: `clock.advance` releases them at once.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { badRequest, goaValidation, type HttpFail } from "../http.js"
import { jobEvents, jobEventWire, untilEmulatorTime } from "../jobs.js"
import { isFinal, jobStatusAt } from "../model.js"
import type { Ctx, Handler } from "../route.js"
import { utf8 } from "../util.js"
import { findJob } from "./jobs.js"
import { v2 } from "./services2.js"

const intQuery = (ctx: Ctx, name: string): Effect.Effect<number | undefined, HttpFail> => {
  const raw = ctx.q.get(name)
  if (raw === null || raw === "") return Effect.succeed(undefined)
  if (!/^\d+$/.test(raw.trim())) {
    return goaValidation("invalid_field_type", `invalid value for "${name}", must be a integer but got ${raw}`)
  }
  return Effect.succeed(Number(raw.trim()))
}

const lastEventId = (ctx: Ctx): Effect.Effect<number, HttpFail> => {
  const raw = ctx.request.headers["last-event-id"]
  if (raw === undefined || raw.trim() === "") return Effect.succeed(0)
  if (!/^\d+$/.test(raw.trim())) return badRequest(`Last-Event-ID must be a SeqID of this stream, got '${raw}'`)
  return Effect.succeed(Number(raw.trim()))
}

/** `GET …/jobs/{job_id}/events` → 200 `text/event-stream` | 204 (nothing more) | 404. */
export const jobEventStream: Handler = v2((ctx) =>
  Effect.gen(function*() {
    const j = yield* findJob(ctx, "job_id")
    const after = yield* lastEventId(ctx)
    const maxMessages = yield* intQuery(ctx, "max-messages")
    const maxWait = (yield* intQuery(ctx, "max-wait-time")) ?? 30
    const state = ctx.state
    const events = jobEvents(j)
    if (after >= events.length && isFinal(jobStatusAt(j, state.now()))) {
      return HttpServerResponse.empty({ status: 204 })
    }
    const limit = maxMessages !== undefined && maxMessages > 0 ? maxMessages : Infinity
    let sent = 0
    let lastActivity = state.now()
    const frames = Stream.unfoldEffect(after + 1, (seq) =>
      Effect.gen(function*() {
        const e = events[seq - 1]
        if (e === undefined || sent >= limit) return Option.none()
        if (e.at > state.now()) {
          const giveUp = lastActivity + maxWait * 1000
          yield* untilEmulatorTime(state, Math.min(e.at, giveUp))
          if (e.at > state.now()) return Option.none()
        }
        sent++
        lastActivity = state.now()
        const frame = `id: ${e.seq}\ndata: ${JSON.stringify(jobEventWire(j, e))}\n\n`
        return Option.some([utf8(frame), seq + 1] as const)
      }))
    // a comment first, so the client has the response (status and headers) before the first event is due
    const body = Stream.concat(Stream.succeed(utf8(`: events of ${j.id}\n\n`)), frames)
    return HttpServerResponse.stream(body, {
      contentType: "text/event-stream",
      headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
    })
  })
)
