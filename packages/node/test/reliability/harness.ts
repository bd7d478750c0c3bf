/**
 * The reliability suite's harness: a real emulator server on 127.0.0.1 with a distinctive token, an IvcapClient over
 * `NodeHttp` for it, Node's file system, and a capture of everything the SDK shows to the outside — every log line
 * (at every level), every span (name, attributes, events, exit) and every error a test sees — so that the token can
 * be searched for at the end of each file. Also: request-log helpers and the JSON summaries RELIABILITY.md is built
 * from.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttp from "@ivcap/node/NodeHttp"
import { IvcapClient } from "@ivcap/core"
import { Emulator } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as TestServices from "effect/TestServices"
import * as Tracer from "effect/Tracer"
import { execFileSync } from "node:child_process"
import { createCipheriv, createHash } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** The suite's bearer token: distinctive, so that any leak of it is found by a plain substring search. */
export const token = "rel-TOKEN-6b2e91d4-do-not-leak"

/** Fast client retries (tests wait on real time): 20 ms, ×2, at most 4 retries. */
export const fastRetry: IvcapClient.RetryPolicy = Schedule.exponential("20 millis", 2).pipe(Schedule.intersect(Schedule.recurs(4)))

/** Upload/download resume waits for tests: 20 ms apart, at most 6 in a row without progress. */
export const quickResume = Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(6)))

/** What the SDK showed to the outside during a test file: searched for the token at its end. */
export interface Capture {
  /** Log lines (logfmt and JSON renderings, with their causes). */
  readonly logs: Array<string>
  /** Span names with their attributes, events and exits. */
  readonly spans: Array<{ readonly name: string; readonly text: string }>
  /** Every error a test observed: `String`, `JSON.stringify`, message, stack, `Cause.pretty`. */
  readonly errors: Array<string>
}

/** The capture of this test file (vitest runs each file in its own process). */
export const capture: Capture = { logs: [], spans: [], errors: [] }

/** A JSON rendering that survives bigints and cycles. */
export const stringify = (value: unknown): string => {
  const seen = new WeakSet<object>()
  try {
    return JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === "bigint") return v.toString()
      if (typeof v === "object" && v !== null) {
        if (seen.has(v)) return "[cycle]"
        seen.add(v)
      }
      return v
    }) ?? String(value)
  } catch (e) {
    return `[unserialisable: ${String(e)}]`
  }
}

/** Records every rendering of an error (or any value a test got back) for the leak check. */
export const recordError = (error: unknown): void => {
  const parts = [String(error), stringify(error)]
  if (error instanceof Error) parts.push(error.message, error.stack ?? "")
  if (Cause.isCause(error)) parts.push(Cause.pretty(error))
  capture.errors.push(parts.join("\n"))
}

const recordingLogger = Logger.make((options) => {
  const structured = Logger.structuredLogger.log(options)
  capture.logs.push([
    Logger.logfmtLogger.log(options),
    stringify(structured),
    Cause.isEmpty(options.cause) ? "" : Cause.pretty(options.cause)
  ].join("\n"))
})

let spanIds = 0

/** A tracer that records every span (name, attributes, events, links, exit) and keeps nothing else. */
const recordingTracer = Tracer.make({
  span: (name, parent, context, links, startTime, kind) => {
    const attributes = new Map<string, unknown>()
    const events: Array<string> = []
    const allLinks = [...links]
    const id = (++spanIds).toString(16)
    const span: Tracer.Span & { status: Tracer.SpanStatus } = {
      _tag: "Span",
      name,
      spanId: id,
      traceId: Option.match(parent, { onNone: () => `trace-${id}`, onSome: (p) => p.traceId }),
      parent,
      context,
      status: { _tag: "Started", startTime },
      attributes,
      links: allLinks,
      sampled: true,
      kind,
      end: (endTime, exit) => {
        span.status = { _tag: "Ended", startTime, endTime, exit }
        capture.spans.push({
          name,
          text: [
            name,
            stringify(Object.fromEntries(attributes)),
            ...events,
            stringify(allLinks.map((l) => l.attributes)),
            Exit.isFailure(exit) ? Cause.pretty(exit.cause) : ""
          ].join("\n")
        })
      },
      attribute: (key, value) => void attributes.set(key, value),
      event: (eventName, _time, eventAttributes) => void events.push(`${eventName} ${stringify(eventAttributes ?? {})}`),
      addLinks: (more) => void allLinks.push(...more)
    }
    return span
  },
  context: (f) => f()
})

/**
 * Runs a test body as the suite needs: real clock (retries and timeouts wait on real sockets), a scope for temp
 * files, the recording logger at every level and the recording tracer, and the failure (if any) recorded.
 */
export const observed = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, Scope.Scope>> =>
  effect.pipe(
    Effect.tapErrorCause((cause) => Effect.sync(() => recordError(cause))),
    Effect.scoped,
    Effect.withTracer(recordingTracer),
    Effect.provide(Logger.replace(Logger.defaultLogger, recordingLogger)),
    Logger.withMinimumLogLevel(LogLevel.All),
    TestServices.provideLive
  )

/** Runs `effect` and returns its exit, recording the failure's every rendering for the leak check. */
export const exitOf = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<Exit.Exit<A, E>, never, R> =>
  Effect.tap(Effect.exit(effect), (exit) =>
    Effect.sync(() => {
      if (Exit.isFailure(exit)) {
        recordError(exit.cause)
        Option.map(Cause.failureOption(exit.cause), recordError)
      }
    }))

/** The `_tag` of an exit's failure, `ok` for a success, or `defect: …` for anything else. */
export const outcomeOf = (exit: Exit.Exit<unknown, unknown>): string => {
  if (Exit.isSuccess(exit)) return "ok"
  const failure = Cause.failureOption(exit.cause)
  if (Option.isSome(failure)) {
    const e = failure.value
    return typeof e === "object" && e !== null && "_tag" in e ? String(e._tag) : `failure: ${String(e)}`
  }
  return Cause.isInterruptedOnly(exit.cause) ? "interrupted" : `defect: ${Cause.pretty(exit.cause).split("\n")[0]}`
}

/** Where each occurrence of the token was found in the capture (empty: no leak). */
export const leaks = (needle: string = token): Array<string> => [
  ...capture.logs.filter((l) => l.includes(needle)).map((l) => `log: ${l.slice(0, 300)}`),
  ...capture.spans.filter((s) => s.text.includes(needle)).map((s) => `span ${s.name}: ${s.text.slice(0, 300)}`),
  ...capture.errors.filter((e) => e.includes(needle)).map((e) => `error: ${e.slice(0, 300)}`)
]

/** The sizes of the capture, for the summaries. */
export const captureCounts = () => ({ logs: capture.logs.length, spans: capture.spans.length, errors: capture.errors.length })

/**
 * The emulator over real HTTP on 127.0.0.1:0 with the suite token, an IvcapClient over `NodeHttp` (undici, with
 * uploads and downloads on their own connections, as `IvcapNode.layer` has it), and Node's platform.
 */
export const layer = (overrides: Omit<IvcapClient.Options, "url" | "token"> = {}, serverOptions: EmulatorServer.Options = {}) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const server = yield* EmulatorServer.EmulatorServer
    return IvcapClient.layer({ url: server.url, token, retry: fastRetry, timeout: "10 seconds", ...overrides }).pipe(
      Layer.provide(NodeHttp.layer)
    )
  })).pipe(
    Layer.provideMerge(EmulatorServer.layer({ ...serverOptions, token })),
    Layer.merge(NodeContext.layer)
  )

/** The emulator service. */
export const emulator = Emulator.Emulator

/** Back to the seeded state: no faults, no recorded requests, nothing of earlier tests. */
export const fresh = Effect.flatMap(Emulator.Emulator, (e) => e.reset)

/** Forgets recorded requests and fault rules (keeps the data). */
export const forget = Effect.flatMap(Emulator.Emulator, (e) => Effect.zipRight(e.requests.reset, e.faults.reset))

/** How many requests reached the emulator, matching `filter`. */
export const count = (filter?: Emulator.RequestFilter) => Effect.flatMap(Emulator.Emulator, (e) => e.requests.count(filter))

/** The request log (method, url as received, headers). */
export const requestLog = Effect.flatMap(Emulator.Emulator, (e) => e.requests.log)

/** The emulator's server URL. */
export const serverUrl = Effect.map(EmulatorServer.EmulatorServer, (s) => s.url)

/** Lower-case hex sha-256. */
export const sha256 = (bytes: Uint8Array | ReadonlyArray<Uint8Array>): string => {
  const hash = createHash("sha256")
  for (const part of bytes instanceof Uint8Array ? [bytes] : bytes) hash.update(part)
  return hash.digest("hex")
}

/** Deterministic pseudo-random bytes (AES-128-CTR keystream of the seed): fast, and failures reproduce. */
export const randomBytes = (size: number, seed = 1): Uint8Array => {
  const key = createHash("sha256").update(`reliability-${seed}`).digest().subarray(0, 16)
  return new Uint8Array(createCipheriv("aes-128-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(size)))
}

/** The seed of a run's random choices: `IVCAP_RELIABILITY_SEED` (to replay a run) or a fresh one. */
export const seed = Number(process.env["IVCAP_RELIABILITY_SEED"] ?? Math.floor(Math.random() * 2 ** 31))

/** mulberry32: a small seeded PRNG giving numbers in [0, 1), so a run's random choices can be replayed. */
export const prng = (start: number) => {
  let s = start
  return () => {
    s = (s + 0x6d2b79f5) | 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

/** A temp folder, removed with the scope. */
export const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "ivcap-reliability-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** The content the emulator stored for an artifact, read with a raw `fetch` (independent of the SDK). */
export const storedContent = (dataHref: string | undefined) =>
  Effect.gen(function*() {
    if (dataHref === undefined) return yield* Effect.dieMessage("no data-href")
    const response = yield* Effect.promise(() => fetch(dataHref, { headers: { authorization: `Bearer ${token}` } }))
    if (response.status !== 200) return yield* Effect.dieMessage(`GET ${dataHref}: ${response.status}`)
    return new Uint8Array(yield* Effect.promise(() => response.arrayBuffer()))
  })

const summaryDir = fileURLToPath(new URL("../../build/reliability/", import.meta.url))

/** The commit the suite runs on (`+` when what it tests or runs has uncommitted changes), for the summaries. */
const tested = ["../core/src", "src", "../emulator/src", "test/reliability"]
const revision = (): string => {
  try {
    const git = (...args: Array<string>) => execFileSync("git", args, { cwd: summaryDir.replace(/build.*$/, ""), stdio: ["ignore", "pipe", "ignore"] }).toString().trim()
    return `${git("rev-parse", "--short", "HEAD")}${git("status", "--porcelain", "--", ...tested) === "" ? "" : "+"}`
  } catch {
    return "unknown"
  }
}

/**
 * Writes one part of the run's figures to `packages/node/build/reliability/<name>.json`, which
 * `fixtures/report.mjs` turns into RELIABILITY.md's tables.
 */
export const writeSummary = (name: string, data: unknown) =>
  Effect.sync(() => {
    fs.mkdirSync(summaryDir, { recursive: true })
    const header = { name, writtenAt: new Date().toISOString(), commit: revision() }
    fs.writeFileSync(path.join(summaryDir, `${name}.json`), `${stringify({ ...header, ...(data as object) })}\n`)
  })
