/**
 * The emulator under test: the `ivcap-emulator` bin as a separate process on 127.0.0.1 (port 0), disk-backed
 * in a temp `--data-dir`, with a random token. Scoped: the process (and its group) is stopped when the scope
 * closes, whatever happened. Its output is drained continuously (a full pipe would stall it) and the last lines
 * are kept for error messages.
 */
import * as Command from "@effect/platform/Command"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import { createRequire } from "node:module"
import { benchDir } from "./Child.js"

/** The emulator failed to start or an admin call failed. */
export class EmulatorError extends Data.TaggedError("EmulatorError")<{ readonly message: string }> {}

/** A running emulator process. */
export interface EmulatorProcess {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string
  readonly token: string
  readonly dataDir: string
  /** Calls an admin route (`/_emulator/...`) and returns its JSON body (or null for 204). */
  readonly admin: (method: string, route: string, body?: unknown) => Effect.Effect<unknown, EmulatorError>
  /** Environment for a client process: `IVCAP_URL`, `IVCAP_JWT`. */
  readonly env: Record<string, string>
  /** The emulator's recent output, for diagnostics. */
  readonly output: () => string
}

/** The path of the emulator's bin (`packages/emulator/dist/bin.js`, per its package.json `bin`). */
export const binPath = (): string => {
  const require = createRequire(`${benchDir}/package.json`)
  const pkgJson = require.resolve("@ivcap/emulator/package.json")
  const pkg = require(pkgJson) as { readonly bin?: Record<string, string> }
  const bin = pkg.bin?.["ivcap-emulator"] ?? "./dist/bin.js"
  return `${pkgJson.slice(0, -"package.json".length)}${bin.replace(/^\.\//, "")}`
}

const urlPattern = /https?:\/\/127\.0\.0\.1:\d+/

/** Starts the emulator bin in `directory` (its data dir is created inside) and waits until it answers. */
export const start = (directory: string): Effect.Effect<EmulatorProcess, EmulatorError, CommandExecutor.CommandExecutor | FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dataDir = path.join(directory, "emulator-data")
    yield* fs.makeDirectory(dataDir, { recursive: true }).pipe(Effect.orDie)
    const token = `bench-${randomBytes(12).toString("hex")}`
    const proc = yield* Command.start(
      Command.make(process.execPath, binPath(), "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDir, "--token", token)
    ).pipe(Effect.mapError((e) => new EmulatorError({ message: `cannot start the emulator: ${e.message}` })))

    const lines: Array<string> = []
    const found = yield* Deferred.make<string, EmulatorError>()
    const drain = (stream: Stream.Stream<Uint8Array, unknown>) =>
      stream.pipe(
        Stream.decodeText(),
        Stream.splitLines,
        Stream.runForEach((line) =>
          Effect.suspend(() => {
            lines.push(line)
            if (lines.length > 50) lines.shift()
            const m = urlPattern.exec(line)
            return m ? Deferred.succeed(found, m[0]) : Effect.void
          })
        ),
        Effect.ignore
      )
    yield* Effect.forkScoped(drain(proc.stdout))
    yield* Effect.forkScoped(drain(proc.stderr))
    yield* Effect.forkScoped(
      Effect.flatMap(Effect.either(proc.exitCode), (code) =>
        Deferred.fail(found, new EmulatorError({ message: `the emulator exited (${JSON.stringify(code)}):\n${lines.join("\n")}` })))
    )
    const url = yield* Deferred.await(found).pipe(
      Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new EmulatorError({ message: `no URL from the emulator within 60 s:\n${lines.join("\n")}` }) })
    )

    const admin = (method: string, route: string, body?: unknown) =>
      Effect.tryPromise({
        try: async () => {
          const response = await fetch(`${url}${route}`, {
            method,
            headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
            ...(body === undefined ? {} : { body: JSON.stringify(body) })
          })
          const text = await response.text()
          if (!response.ok) throw new Error(`${method} ${route} -> ${response.status}: ${text.slice(0, 300)}`)
          return text === "" ? null : (JSON.parse(text) as unknown)
        },
        catch: (e) => new EmulatorError({ message: e instanceof Error ? e.message : String(e) })
      })
    yield* admin("GET", "/_emulator/health").pipe(Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(50)))))
    return { url, token, dataDir, admin, env: { IVCAP_URL: url, IVCAP_JWT: token }, output: () => lines.join("\n") }
  })
