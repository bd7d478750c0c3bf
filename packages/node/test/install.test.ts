/**
 * The packed packages install and work outside the workspace: `pnpm pack` @ivcap/core, @ivcap/node,
 * @ivcap/browser and @ivcap/emulator (after building their dist/), `npm install` the tarballs into a fresh temp
 * project, and run a plain ESM script there that starts the installed emulator and uses @ivcap/node (and
 * @ivcap/browser's fetch layer, which runs in Node too) against it.
 */
import * as Command from "@effect/platform/Command"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { expect, layer } from "@effect/vitest"
import { SeedData } from "@ivcap/emulator"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("../../..", import.meta.url))
const packed = ["core", "node", "browser", "emulator"] as const

/** Extra environment variables for {@link run}. */
class Environment extends Context.Reference<Environment>()("test/Environment", { defaultValue: (): Record<string, string> => ({}) }) {}

/** Runs a command to completion; a non-zero exit fails with its output. */
const run = (cwd: string, cmd: string, ...args: Array<string>) =>
  Effect.flatMap(Environment, (env) => Command.make(cmd, ...args).pipe(
    Command.workingDirectory(cwd),
    Command.env({ npm_config_update_notifier: "false", ...env }),
    (command) => Effect.gen(function*() {
      const proc = yield* Command.start(command)
      const [stdout, stderr, code] = yield* Effect.all([
        Stream.mkString(Stream.decodeText(proc.stdout)),
        Stream.mkString(Stream.decodeText(proc.stderr)),
        proc.exitCode
      ], { concurrency: "unbounded" })
      if (code !== 0) return yield* Effect.dieMessage(`${cmd} ${args.join(" ")} (in ${cwd}) exited ${code}\n${stdout}\n${stderr}`)
      return stdout
    }),
    Effect.scoped
  ))

/** The script run in the installed project: plain ESM, only the packages' public entry points, env config. */
const script = `
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { IvcapNode, Service as NodeService } from "@ivcap/node"
import { IvcapBrowser } from "@ivcap/browser"
import { Service } from "@ivcap/core"
import * as ServiceModule from "@ivcap/core/Service"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"

// IVCAP_URL and IVCAP_JWT come from the environment, as a user's shell would give them.
const program = Effect.gen(function*() {
  const services = Chunk.toReadonlyArray(yield* Stream.runCollect(Service.list({ pageSize: 25 })))
  const wanted = services[services.length - 1]
  const byName = yield* ServiceModule.getByName(wanted.name)
  return { names: services.map((s) => s.name), wanted: { id: wanted.id, name: wanted.name }, byName: { id: byName.id, name: byName.name } }
})
const result = await Effect.runPromise(program.pipe(Effect.provide(IvcapNode.layer())))
// The browser package's layer runs anywhere fetch does (Node too); memory for the upload state here.
const viaFetch = await Effect.runPromise(Service.list({ pageSize: 50 }).pipe(Stream.runCount,
  Effect.provide(IvcapBrowser.layer({ url: process.env.IVCAP_URL, token: process.env.IVCAP_JWT, uploadState: "memory" }))))
let internal = "importable"
try { await import("@ivcap/core/internal/http") } catch (e) { internal = e.code }
console.log(JSON.stringify({ ...result, viaFetch, internal, sameModule: ServiceModule.list === Service.list && NodeService.list === Service.list, start: typeof EmulatorServer.start }))
`

/** Type-checked in the installed project: wrong or missing declarations fail the compile. */
const typesCheck = `
import { IvcapNode, NodeConfig } from "@ivcap/node"
import * as NodeTransfer from "@ivcap/node/NodeTransfer"
// The deprecated former name keeps working.
import * as NodeUpload from "@ivcap/node/NodeUpload"
import { IvcapBrowser } from "@ivcap/browser"
import type { ServiceSummary } from "@ivcap/core/Service"
import { Service, Upload } from "@ivcap/core"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Stream from "effect/Stream"

const nodeLayer: Layer.Layer<IvcapNode.Services, IvcapNode.LayerError> = IvcapNode.layer({ timeout: "5 seconds" })
const browserLayer: Layer.Layer<IvcapBrowser.Services, unknown> = IvcapBrowser.layer({ url: "https://example.org", token: "t" })
const list: Stream.Stream<ServiceSummary, unknown, unknown> = Service.list()
const upload = NodeTransfer.uploadFile("x.bin").pipe(Effect.map((a) => a.id))
const legacy: typeof NodeTransfer.downloadToFile = NodeUpload.downloadToFile
const chunk: number = Upload.defaultChunkSize
const expired = (e: NodeConfig.TokenExpired): string => e.message
export { browserLayer, chunk, expired, legacy, list, nodeLayer, upload }
`

layer(NodeContext.layer, { timeout: 240_000 })("packed packages", (it) => {
  it.scoped("install with npm outside the workspace and work against the emulator", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      // dist/ as `pnpm test` leaves it (tsc -b runs first there); building here keeps a lone run honest.
      yield* run(root, path.join(root, "node_modules/.bin/tsc"), "-b", ...packed.map((p) => `packages/${p}/tsconfig.src.json`))
      const dir = yield* fs.makeTempDirectoryScoped({ prefix: "ivcap-install-" })
      expect(path.relative(root, dir).startsWith("..")).toBe(true)
      const tarballs = path.join(dir, "tarballs")
      for (const p of packed) yield* run(path.join(root, "packages", p), "pnpm", "pack", "--pack-destination", tarballs)
      const files = (yield* fs.readDirectory(tarballs)).filter((f: string) => f.endsWith(".tgz")).sort()
      expect(files).toEqual(packed.map((p) => `ivcap-${p}-0.1.0.tgz`).sort())

      // What a tarball holds: built JS with declarations, no build info, tests or workspace protocol.
      const listing = (yield* run(dir, "tar", "-tzf", path.join(tarballs, "ivcap-node-0.1.0.tgz"))).split("\n")
      expect(listing).toContain("package/dist/index.js")
      expect(listing).toContain("package/dist/index.d.ts")
      expect(listing).toContain("package/dist/IvcapNode.d.ts")
      expect(listing.filter((f) => /tsbuildinfo|\/test\/|\/build\//.test(f))).toEqual([])
      const manifest = JSON.parse(yield* run(dir, "tar", "-xzOf", path.join(tarballs, "ivcap-node-0.1.0.tgz"), "package/package.json"))
      expect(manifest.dependencies["@ivcap/core"]).toBe("^0.1.0")

      const project = path.join(dir, "project")
      yield* fs.makeDirectory(project)
      yield* fs.writeFileString(path.join(project, "package.json"), JSON.stringify({ name: "ivcap-install-check", private: true, type: "module" }))
      yield* run(project, "npm", "install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error",
        ...files.map((f) => path.join(tarballs, f)))
      yield* fs.writeFileString(path.join(project, "check.mjs"), script)

      // The installed bin serves the emulator; the script reaches it through the environment.
      const emulator = yield* Command.start(Command.make(path.join(project, "node_modules/.bin/ivcap-emulator"), "--host", "127.0.0.1", "--port", "0"))
      const [url, token] = yield* emulator.stdout.pipe(
        Stream.decodeText(),
        Stream.splitLines,
        Stream.filterMap((line) => Option.fromNullable(/listening on (http:\/\/127\.0\.0\.1:\d+) \(token: (\S+)\)/.exec(line))),
        Stream.map((m) => [m[1]!, m[2]!] as const),
        Stream.runHead,
        Effect.flatten,
        Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("the installed ivcap-emulator did not start") })
      )
      const out = yield* run(project, "node", "check.mjs").pipe(
        Effect.provideService(Environment, { IVCAP_URL: url, IVCAP_JWT: token, IVCAP_CLI_CONFIG_DIR: path.join(dir, "no-cli-config") })
      )
      // The declarations resolve through the exports maps for a strict NodeNext TypeScript user, deep imports too.
      yield* fs.writeFileString(path.join(project, "types.ts"), typesCheck)
      yield* fs.writeFileString(path.join(project, "tsconfig.json"), JSON.stringify({
        compilerOptions: { strict: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", noEmit: true, skipLibCheck: true, exactOptionalPropertyTypes: true, types: [], lib: ["ES2022", "DOM"] },
        files: ["types.ts"]
      }))
      yield* run(project, path.join(root, "node_modules/.bin/tsc"), "-p", "tsconfig.json")
      const result = JSON.parse(out.trim().split("\n").pop() ?? "")

      // The default emulator is v0.48: Service.list reads /1/services2, which also holds the tool services.
      const seeded = [...SeedData.services(), ...SeedData.toolServices()].map((s) => s.name)
      expect([...result.names].sort()).toEqual([...seeded].sort())
      expect(result.byName).toEqual(result.wanted)
      expect(result.viaFetch).toBe(seeded.length)
      expect(result.start).toBe("function")
      expect(result.internal).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED")
      expect(result.sameModule).toBe(true)
      // The installed packages resolved to the tarballs, and effect to a single copy.
      const installed = yield* run(project, "npm", "ls", "--all", "--json")
      const tree = JSON.stringify(JSON.parse(installed))
      expect(tree).toContain("ivcap-core-0.1.0.tgz")
      const effects = new Set([...installed.matchAll(/"effect": \{\s*"version": "([^"]+)"/g)].map((m) => m[1]))
      expect([...effects]).toEqual(["3.22.4"])
    }))
})
