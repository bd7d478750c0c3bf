/**
 * Child processes: every client under test runs as its own process, under GNU `time` so its peak RSS is the
 * kernel's figure (`ru_maxrss`, which covers the process and the children it waited for). A process left
 * running when its scope closes is killed with its process group.
 */
import * as Command from "@effect/platform/Command"
import type * as CommandExecutor from "@effect/platform/CommandExecutor"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { existsSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** A child process that failed (non-zero exit, no result line, unparsable output). */
export class ChildError extends Data.TaggedError("ChildError")<{ readonly command: string; readonly message: string }> {}

/** What a finished child left behind. */
export interface Finished {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
  /** From spawn to exit, as seen by the parent. */
  readonly wallMs: number
  /** Peak resident set size in bytes (GNU time's `%M`), `NaN` when `/usr/bin/time` is missing. */
  readonly maxRssBytes: number
  /** CPU time (user + system) of the process and the children it waited for, in ms; `NaN` without GNU time. */
  readonly cpuMs: number
}

const gnuTime = "/usr/bin/time"
const hasGnuTime = existsSync(gnuTime)

/** Whether an executable of that name is on the PATH (e.g. `curl`, for the baselines that need it). */
export const onPath = (name: string): boolean =>
  (process.env["PATH"] ?? "").split(path.delimiter).some((dir) => dir !== "" && existsSync(path.join(dir, name)))

/** The directory of the compiled client scripts (`bench/dist/clients`). */
export const clientsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "clients")

/** The bench package's directory: `@ivcap/*`, `effect` and the npm clients resolve from here. */
export const benchDir = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..")

const text = (stream: Stream.Stream<Uint8Array, unknown>) =>
  Stream.decodeText(stream).pipe(Stream.runCollect, Effect.map((c) => Chunk.join(c, "")), Effect.orElseSucceed(() => ""))

const tail = (s: string, lines = 15) => s.trimEnd().split("\n").slice(-lines).join("\n")

/** Options of {@link run}. */
export interface RunOptions {
  readonly cwd?: string
  readonly env?: Record<string, string>
  /** Flags for `node` itself (only {@link runClient}), e.g. `--expose-gc`. */
  readonly nodeArgs?: ReadonlyArray<string>
}

/**
 * Runs a command to completion under `/usr/bin/time` and returns its output, wall time and peak RSS. A non-zero
 * exit is a `ChildError` carrying the end of stderr.
 */
export const run = (
  command: string,
  args: ReadonlyArray<string>,
  options: RunOptions = {}
): Effect.Effect<Finished, ChildError, CommandExecutor.CommandExecutor | FileSystem.FileSystem> =>
  Effect.scoped(Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const describe = [command, ...args].join(" ")
    const fail = (message: string) => new ChildError({ command: describe, message })
    const timeFile = hasGnuTime ? yield* fs.makeTempFileScoped({ prefix: "bench-time-" }) : undefined
    let cmd = timeFile === undefined
      ? Command.make(command, ...args)
      : Command.make(gnuTime, "-f", "%M %U %S", "-o", timeFile, command, ...args)
    cmd = Command.workingDirectory(cmd, options.cwd ?? benchDir)
    if (options.env) cmd = Command.env(cmd, options.env)
    const start = performance.now()
    const proc = yield* Command.start(cmd)
    const [stdout, stderr, exitCode] = yield* Effect.all([text(proc.stdout), text(proc.stderr), proc.exitCode], { concurrency: "unbounded" })
    const wallMs = performance.now() - start
    if (exitCode !== 0) return yield* fail(`exit code ${exitCode}\n${tail(stderr)}`)
    // GNU time writes "Command exited with non-zero status" lines first, the format line last
    const [rssKiB, user, system] = timeFile === undefined
      ? [Number.NaN, Number.NaN, Number.NaN]
      : (yield* fs.readFileString(timeFile)).trim().split("\n").pop()!.split(" ").map(Number)
    return { exitCode, stdout, stderr, wallMs, maxRssBytes: rssKiB! * 1024, cpuMs: (user! + system!) * 1000 }
  }).pipe(Effect.mapError((e) => (e._tag === "ChildError" ? e : new ChildError({ command, message: e.message })))))

/** The JSON a client prints on its last `RESULT ` line (see `clients/common.ts`). */
export const resultOf = <A>(finished: Finished, command: string): Effect.Effect<A, ChildError> => {
  const line = finished.stdout.split("\n").reverse().find((l) => l.startsWith("RESULT "))
  if (line === undefined) return Effect.fail(new ChildError({ command, message: `no RESULT line\n${tail(finished.stdout)}\n${tail(finished.stderr)}` }))
  return Effect.try({
    try: () => JSON.parse(line.slice("RESULT ".length)) as A,
    catch: () => new ChildError({ command, message: `unparsable RESULT line: ${line.slice(0, 200)}` })
  })
}

/** Runs a compiled client script (`bench/dist/clients/<name>.js`) with `node` and returns its result and RSS. */
export const runClient = <A>(
  name: string,
  args: ReadonlyArray<string>,
  options: RunOptions = {}
): Effect.Effect<{ readonly result: A; readonly finished: Finished }, ChildError, CommandExecutor.CommandExecutor | FileSystem.FileSystem> =>
  Effect.gen(function*() {
    const finished = yield* run(process.execPath, [...(options.nodeArgs ?? []), path.join(clientsDir, `${name}.js`), ...args], options)
    const result = yield* resultOf<A>(finished, name)
    return { result, finished }
  })
