/**
 * Browser bundle: a minimal app (list services + upload a `File`) on `@ivcap/browser`, built for the browser
 * with Vite (an app build: index.html + module script) and with esbuild (`--bundle --minify --format=esm
 * --platform=browser`), measured minified and gzip -9 (Node zlib). The baseline is the same app written
 * directly on `effect` + `@effect/platform` (fetch, Schema decode, Stream paging, tus PATCHes), which is what a
 * user would otherwise ship: with the SDK's two basic guarantees, written by hand — requests retried with
 * exponential back-off, and an upload that after a failed PATCH asks the server for its offset (HEAD) and goes
 * on from there (re-sending a PATCH at an offset the server may have moved past fails with 409) — and `X-Name` as
 * the base64 of UTF-8 (`btoa` alone throws on a name outside Latin-1). Not in it: typed errors, timeouts,
 * `Retry-After`, API-version detection, resuming after a reload. esbuild's metafile says which packages and
 * modules carry the weight.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import * as esbuild from "esbuild"
import { gzipSync } from "node:zlib"
import { build as viteBuild } from "vite"
import { type Benchmark, progress } from "./lib/Bench.js"
import { benchDir } from "./lib/Child.js"
import { fmt, limitRow, type Row } from "./lib/Report.js"

/** The app on our SDK: the code a user writes (imports as the READMEs show them). */
export const oursApp = `
import { IvcapBrowser } from "@ivcap/browser"
import { Service, Upload, UploadSource } from "@ivcap/core"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

const program = (url, token, file) =>
  Effect.gen(function*() {
    const services = yield* Service.list().pipe(Stream.take(20), Stream.runCollect)
    const artifact = yield* Upload.upload(UploadSource.fromBlob(file))
    return { services: [...services].map((s) => s.name ?? s.id), artifact: artifact.id }
  }).pipe(Effect.provide(IvcapBrowser.layer({ url, token })))

document.querySelector("#go").addEventListener("click", () => {
  const file = document.querySelector("#file").files[0]
  Effect.runPromise(program(location.origin, sessionStorage.getItem("token"), file)).then(
    (r) => { document.querySelector("#out").textContent = JSON.stringify(r) },
    (e) => { document.querySelector("#out").textContent = String(e) })
})
`

/** The same app written directly on effect + @effect/platform, without the SDK. */
export const baselineApp = `
import * as FetchHttpClient from "@effect/platform/FetchHttpClient"
import * as HttpBody from "@effect/platform/HttpBody"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"

const Link = Schema.Struct({ rel: Schema.String, type: Schema.String, href: Schema.String })
const ServiceItem = Schema.Struct({
  id: Schema.String, href: Schema.String, account: Schema.String, name: Schema.optional(Schema.String),
  publishedAt: Schema.optional(Schema.DateTimeUtc).pipe(Schema.fromKey("published-at"))
})
const ServicePage = Schema.Struct({ items: Schema.Array(ServiceItem), links: Schema.Array(Link) })
const Artifact = Schema.Struct({ id: Schema.String, status: Schema.String, dataHref: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("data-href")) })
const chunkSize = 5 * 1024 * 1024
const retry = Schedule.exponential("500 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(5)))
const utf8Base64 = (text) => btoa(Array.from(new TextEncoder().encode(text), (b) => String.fromCharCode(b)).join(""))

const program = (url, token, file) =>
  Effect.gen(function*() {
    const client = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest(HttpClientRequest.bearerToken(token)), HttpClient.filterStatusOk, HttpClient.withTracerPropagation(false))
    const page = (href) => client.get(href).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(ServicePage)), Effect.scoped, Effect.retry(retry))
    const services = yield* Stream.paginateChunkEffect(url + "/1/services?limit=50", (href) =>
      Effect.map(page(href), (p) => [Chunk.fromIterable(p.items), Option.fromNullable(p.links.find((l) => l.rel === "next")?.href)])
    ).pipe(Stream.take(20), Stream.runCollect)
    const artifact = yield* client.post(url + "/1/artifacts", {
      headers: { "x-name": utf8Base64(file.name), "x-content-type": file.type || "application/octet-stream", "x-content-length": String(file.size), "tus-resumable": "1.0.0" }
    }).pipe(Effect.flatMap(HttpClientResponse.schemaBodyJson(Artifact)), Effect.scoped)
    // tus: each PATCH answers the server's offset; after a failure, wait, ask the server for its offset (HEAD)
    // and go on from there
    const tus = { "tus-resumable": "1.0.0" }
    const offsetOf = (r) => Number(r.headers["upload-offset"])
    const serverOffset = client.head(artifact.dataHref, { headers: tus }).pipe(Effect.map(offsetOf), Effect.scoped)
    const patchAt = (offset) => {
      const chunk = file.slice(offset, offset + chunkSize)
      return client.execute(HttpClientRequest.patch(artifact.dataHref).pipe(
        HttpClientRequest.setHeaders({ ...tus, "upload-offset": String(offset) }),
        HttpClientRequest.setBody(HttpBody.raw(chunk, { contentType: "application/offset+octet-stream", contentLength: chunk.size }))
      )).pipe(Effect.map(offsetOf), Effect.scoped)
    }
    let offset = 0
    while (offset < file.size) {
      let failed = false
      offset = yield* Effect.suspend(() => failed ? serverOffset : Effect.succeed(offset)).pipe(
        Effect.flatMap(patchAt), Effect.tapError(() => Effect.sync(() => { failed = true })), Effect.retry(retry))
    }
    return { services: [...services].map((s) => s.name ?? s.id), artifact: artifact.id }
  }).pipe(Effect.provide(FetchHttpClient.layer))

document.querySelector("#go").addEventListener("click", () => {
  const file = document.querySelector("#file").files[0]
  Effect.runPromise(program(location.origin, sessionStorage.getItem("token"), file)).then(
    (r) => { document.querySelector("#out").textContent = JSON.stringify(r) },
    (e) => { document.querySelector("#out").textContent = String(e) })
})
`

const html = `<!doctype html><html><body><input id="file" type="file"><button id="go">go</button><pre id="out"></pre>
<script type="module" src="./main.js"></script></body></html>`

interface Size {
  readonly minified: number
  readonly gzip: number
}

const sizeOf = (chunks: ReadonlyArray<Uint8Array>): Size => {
  const all = Buffer.concat(chunks)
  return { minified: all.length, gzip: gzipSync(all, { level: 9 }).length }
}

/** Which package a bundled input belongs to: `effect`, `@effect/platform`, `@ivcap/core`, … */
export const packageOf = (input: string): string => {
  const nm = input.lastIndexOf("node_modules/")
  if (nm !== -1) {
    const parts = input.slice(nm + "node_modules/".length).split("/")
    return parts[0]!.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!
  }
  const ws = /(?:^|\/)packages\/([^/]+)\//.exec(input)
  return ws ? `@ivcap/${ws[1]}` : "(app)"
}

/** Every bundled module of an esbuild output: a readable name, its package, its minified bytes. */
const inputsOf = (metafile: esbuild.Metafile): ReadonlyArray<{ readonly module: string; readonly pkg: string; readonly bytes: number }> =>
  Object.values(metafile.outputs).flatMap((output) =>
    Object.entries(output.inputs).map(([input, { bytesInOutput }]) => {
      const pkg = packageOf(input)
      const module = input.includes("node_modules/") ? `${pkg}/${input.split(`${pkg}/`).pop()}` : input.replace(/^.*?packages\//, "packages/")
      return { module, pkg, bytes: bytesInOutput }
    })
  )

/** Bytes each package and the heaviest modules contribute to an esbuild output (minified, before gzip). */
export const weights = (metafile: esbuild.Metafile) => {
  const inputs = inputsOf(metafile)
  const byPackage = new Map<string, number>()
  for (const { bytes, pkg } of inputs) byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + bytes)
  return {
    packages: [...byPackage].sort((a, b) => b[1] - a[1]),
    modules: [...inputs].sort((a, b) => b.bytes - a.bytes).slice(0, 12).map((i) => [i.module, i.bytes] as const)
  }
}

/** The modules in `ours` that `baseline` does not bundle at all (what the SDK adds beyond a hand-written app). */
export const extraModules = (ours: esbuild.Metafile, baseline: esbuild.Metafile) => {
  const base = new Set(inputsOf(baseline).map((i) => i.module))
  const extra = inputsOf(ours).filter((i) => !base.has(i.module) && i.bytes > 0).sort((a, b) => b.bytes - a.bytes)
  return { total: extra.reduce((n, i) => n + i.bytes, 0), count: extra.length, top: extra.slice(0, 15).map((i) => [i.module, i.bytes] as const) }
}

const withEsbuild = (dir: string) =>
  Effect.promise(() =>
    esbuild.build({
      entryPoints: [`${dir}/main.js`],
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      metafile: true,
      write: false,
      logLevel: "silent",
      // a name the SDK does not export must fail the build, not bundle as `undefined`
      logOverride: { "import-is-undefined": "error" }
    })
  ).pipe(Effect.map((r) => ({ size: sizeOf(r.outputFiles.map((f) => f.contents)), metafile: r.metafile })))

const withVite = (dir: string, path: Path.Path) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const outDir = path.join(dir, "dist")
    yield* Effect.promise(() =>
      viteBuild({ root: dir, configFile: false, logLevel: "silent", build: {
          outDir,
          emptyOutDir: true,
          minify: "esbuild",
          modulePreload: { polyfill: false },
          rollupOptions: {
            onwarn: (warning, warn) => {
              if (warning.code === "MISSING_EXPORT") throw new Error(warning.message)
              warn(warning)
            }
          }
        }
      })
    )
    const assets = path.join(outDir, "assets")
    const js = (yield* fs.readDirectory(assets)).filter((f) => f.endsWith(".js"))
    return sizeOf(yield* Effect.forEach(js, (f) => fs.readFile(path.join(assets, f))))
  })

const kB = (bytes: number) => `${fmt(bytes / 1000, 1)} kB`

/** Runs the bundle-size benchmark. */
export const bundle: Benchmark = () =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    // The apps live under bench/ so that @ivcap/browser, effect and @effect/platform resolve from its node_modules.
    const buildDir = path.join(benchDir, "build")
    yield* fs.makeDirectory(buildDir, { recursive: true })
    const app = (source: string) =>
      Effect.gen(function*() {
        const dir = yield* fs.makeTempDirectoryScoped({ directory: buildDir, prefix: "bundle-app-" })
        yield* fs.writeFileString(path.join(dir, "main.js"), source)
        yield* fs.writeFileString(path.join(dir, "index.html"), html)
        const es = yield* withEsbuild(dir)
        const vite = yield* withVite(dir, path)
        return { es, vite }
      })
    progress("bundle: building both apps with esbuild and Vite")
    const ours = yield* app(oursApp)
    const base = yield* app(baselineApp)
    // Issue 14: at most 1.05× the same app written by hand on bare Effect (issue 7's absolute 70 kB is below
    // what the hand-written app itself weighs).
    const maxRatio = 1.05
    const rows: Array<Row> = [
      limitRow("browser bundle, esbuild (min + gzip -9) vs the hand-written app", ours.es.size.gzip, base.es.size.gzip, kB, maxRatio * base.es.size.gzip, `${maxRatio}× the hand-written app`),
      limitRow("browser bundle, Vite (min + gzip -9) vs the hand-written app", ours.vite.gzip, base.vite.gzip, kB, maxRatio * base.vite.gzip, `${maxRatio}× the hand-written app`)
    ]
    const w = weights(ours.es.metafile)
    const extra = extraModules(ours.es.metafile, base.es.metafile)
    const total = w.packages.reduce((n, [, b]) => n + b, 0)
    const share = (b: number) => `${kB(b)} (${((100 * b) / total).toFixed(0)}%)`
    return {
      rows,
      series: [
        { name: "bundle ours esbuild", unit: "bytes", samples: [ours.es.size.minified, ours.es.size.gzip], median: ours.es.size.gzip },
        { name: "bundle ours vite", unit: "bytes", samples: [ours.vite.minified, ours.vite.gzip], median: ours.vite.gzip },
        { name: "bundle baseline esbuild", unit: "bytes", samples: [base.es.size.minified, base.es.size.gzip], median: base.es.size.gzip },
        { name: "bundle baseline vite", unit: "bytes", samples: [base.vite.minified, base.vite.gzip], median: base.vite.gzip }
      ],
      notes: [
        `bundle: minified sizes — ours esbuild ${kB(ours.es.size.minified)}, Vite ${kB(ours.vite.minified)}; baseline esbuild ${kB(base.es.size.minified)}, Vite ${kB(base.vite.minified)}.`,
        `bundle (ours, esbuild, minified bytes by package): ${w.packages.map(([p, b]) => `${p} ${share(b)}`).join(", ")}.`,
        `bundle (ours, esbuild, heaviest modules): ${w.modules.map(([m, b]) => `${m} ${kB(b)}`).join(", ")}.`,
        `bundle (ours, esbuild): ${kB(extra.total)} minified in ${extra.count} modules the baseline app does not include; the heaviest: ${extra.top.map(([m, b]) => `${m} ${kB(b)}`).join(", ")}.`
      ]
    }
  })
