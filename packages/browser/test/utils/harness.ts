/**
 * The real-browser harness: the emulator on 127.0.0.1 (port 0), the test page bundled by esbuild from the
 * workspace sources and served by a second tiny server on another port (so every API call is cross-origin, and
 * CORS is real), and Debian's Chromium driven headless by playwright-core.
 */
import { EmulatorServer } from "@ivcap/emulator/EmulatorServer"
import * as EmulatorServerModule from "@ivcap/emulator/EmulatorServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { build } from "esbuild"
import { existsSync } from "node:fs"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { Browser, Page } from "playwright-core"
import { chromium } from "playwright-core"

const here = path.dirname(fileURLToPath(import.meta.url))
const packages = path.resolve(here, "../../..")
const chromiumPath = process.env.IVCAP_CHROMIUM ?? "/usr/bin/chromium"

/** The test page bundle (ESM, browser), built from the workspace sources as a user's bundler would. */
export const bundlePage = Effect.promise(async () => {
  const alias = (name: string) => ({ find: new RegExp(`^@ivcap/${name}(/.*)?$`), dir: path.join(packages, name, "src") })
  const aliases = ["core", "browser"].map(alias)
  const result = await build({
    entryPoints: [path.join(here, "../fixtures/page.ts")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    logLevel: "silent",
    plugins: [{
      name: "workspace",
      setup(b) {
        b.onResolve({ filter: /^@ivcap\// }, (args) => {
          for (const a of aliases) {
            const m = a.find.exec(args.path)
            if (m) return { path: path.join(a.dir, m[1] ? `${m[1].slice(1)}.ts` : "index.ts") }
          }
          return undefined
        })
      }
    }]
  })
  const file = result.outputFiles[0]
  if (!file) throw new Error("esbuild produced no output")
  return file.text
})

/** A static server for the page on 127.0.0.1 (another port than the emulator). */
const servePage = (script: string) =>
  Effect.acquireRelease(
    Effect.async<{ readonly origin: string; readonly close: () => Promise<void> }>((resume) => {
      const html = "<!doctype html><meta charset=utf-8><title>ivcap browser test</title><script type=module src=/page.js></script>"
      const server = createServer((req, res) => {
        if (req.url === "/page.js") res.writeHead(200, { "content-type": "text/javascript" }).end(script)
        else if (req.url === "/") res.writeHead(200, { "content-type": "text/html" }).end(html)
        else res.writeHead(404).end()
      })
      server.listen(0, "127.0.0.1", () => {
        const { port } = server.address() as AddressInfo
        resume(Effect.succeed({
          origin: `http://127.0.0.1:${port}`,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done())
              server.closeAllConnections()
            })
        }))
      })
    }),
    (s) => Effect.promise(s.close)
  )

/** Headless Chromium with a fresh profile; closed with the scope. */
const launch = Effect.acquireRelease(
  Effect.promise((): Promise<Browser> => {
    if (!existsSync(chromiumPath)) {
      throw new Error(`${chromiumPath} is missing: run \`node scripts/bootstrap.mjs\` (apt-get install -y chromium)`)
    }
    return chromium.launch({
      executablePath: chromiumPath,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      timeout: 30_000
    })
  }),
  (browser) => Effect.promise(() => browser.close())
)

/** The page under test, loaded and ready, plus what the test needs to know about it. */
export class TestPage extends Context.Tag("test/TestPage")<TestPage, {
  readonly page: Page
  readonly origin: string
  /** The page's console output and uncaught errors, for diagnostics. */
  readonly logs: Array<string>
  /** Bytes of the minified page bundle. */
  readonly bundleBytes: number
}>() {}

const layerPage = Layer.scoped(TestPage, Effect.gen(function*() {
  const script = yield* bundlePage
  const site = yield* servePage(script)
  const browser = yield* launch
  const page = yield* Effect.promise(() => browser.newPage())
  const logs: Array<string> = []
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`))
  page.on("pageerror", (e) => logs.push(`pageerror: ${e.message}`))
  yield* Effect.promise(() => page.goto(`${site.origin}/`, { timeout: 30_000 }))
  yield* Effect.promise(() => page.waitForFunction(() => typeof window.ivcap === "object", undefined, { timeout: 30_000 }))
  return { page, origin: site.origin, logs, bundleBytes: Buffer.byteLength(script) }
}))

/** Emulator over HTTP + the page in Chromium (closed before the emulator, so no browser request outlives it). */
export const layer = layerPage.pipe(Layer.provideMerge(EmulatorServerModule.layer({ port: 0 })))

/** Runs a function of the page's `window.ivcap` API with a bounded wait. */
export const inPage = <A, Arg>(fn: (arg: Arg) => Promise<A>, arg: Arg, timeoutMs = 60_000) =>
  Effect.flatMap(TestPage, ({ logs, page }) =>
    Effect.tryPromise({
      // The function is serialised into the page; its parameter type is ours to keep honest.
      try: () => page.evaluate(fn as (arg: unknown) => Promise<A>, arg),
      catch: (e) => new Error(`page.evaluate failed: ${String(e)}\n${logs.join("\n")}`)
    }).pipe(Effect.timeoutFail({ duration: timeoutMs, onTimeout: () => new Error(`page did not answer in ${timeoutMs} ms\n${logs.join("\n")}`) })))

export { EmulatorServer }
