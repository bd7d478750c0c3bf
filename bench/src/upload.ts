/**
 * Upload (issue 14): the same generated file sent to the same emulator (a separate, disk-backed process) by four
 * clients, alternating, each a child process under GNU time:
 * - ours: `@ivcap/node`'s `NodeTransfer.uploadFile` with its defaults (and `force`, so the md5 marker never skips
 *   an upload), creating the record itself; and `plain`, `NodeFileSource.fromFile` + `Upload.upload` — the same
 *   upload without the marker's md5, which gives the marker's cost and the client CPU without the md5;
 * - curl: one process sending the whole file in one PATCH to a fresh `data-href`;
 * - tus-js-client (npm) in Node, to a fresh `data-href`, with its defaults (one PATCH).
 * `--chunk-size` fixes every client's chunk size instead (curl still sends one PATCH).
 * Figures: MB/s and CPU time (ours and tus from their own clocks, excluding Node's start-up; curl from spawn to
 * exit), peak RSS, and ours' RSS right after importing `@ivcap/node`. Ours is then repeated at 4× the size: its
 * RSS must not grow with the size. Every upload is checked to have produced a `ready` artifact of the right size,
 * then the emulator is reset (which frees its disk).
 */
import * as Path from "@effect/platform/Path"
import { Upload } from "@ivcap/core"
import * as Effect from "effect/Effect"
import * as FileSystem from "@effect/platform/FileSystem"
import { createArtifact, curlUpload, expectReady, makeFile, mbPerSecond, perGiB, type TestFile } from "./lib/Artifacts.js"
import { alternate, type Benchmark, type Context, progress } from "./lib/Bench.js"
import { onPath, runClient } from "./lib/Child.js"
import * as EmulatorProcess from "./lib/EmulatorProcess.js"
import { formatBytes } from "./lib/Options.js"
import { fmt, info, limitRow, max, median, mib, ratioRow, series } from "./lib/Report.js"

type Client = "ours" | "plain" | "curl" | "tus"

interface Sample {
  readonly mbps: number
  readonly rss: number
  /** Client CPU seconds per GiB sent. */
  readonly cpuPerGiB: number
  /** Wall time of the operation, ms. */
  readonly ms: number
  /** RSS right after importing `@ivcap/node` (ours only). */
  readonly importRss: number
  /** Wall time until the layer was released (ours only): for uploadFile, until its marker is written, ms. */
  readonly releasedMs: number
}

/** The chunk the RSS target counts three of: the SDK's first (default) chunk. */
const targetChunk = Upload.defaultChunkSize

/** Uploads `file` once with `client` and returns its figures. */
const uploadOnce = (
  client: Client,
  file: TestFile,
  chunkSize: number | undefined,
  emu: EmulatorProcess.EmulatorProcess,
  context: Context,
  stateDir: string,
  nodeArgs: ReadonlyArray<string> = []
) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    const chunkArgs = chunkSize === undefined ? [] : ["--chunk-size", String(chunkSize)]
    let sample: Sample
    let id: string
    if (client === "ours" || client === "plain") {
      const { finished, result } = yield* runClient<{ id: string; ms: number; cpuMs: number; importRss: number; releasedMs: number }>("upload-ours", ["--file", file.path, "--api", client === "ours" ? "node" : "plain", ...chunkArgs], {
        env: { ...emu.env, IVCAP_UPLOAD_STATE_DIR: stateDir },
        nodeArgs
      })
      id = result.id
      sample = { mbps: mbPerSecond(file.size, result.ms), rss: finished.maxRssBytes, cpuPerGiB: perGiB(result.cpuMs, file.size), ms: result.ms, importRss: result.importRss, releasedMs: result.releasedMs }
    } else {
      const created = yield* createArtifact(emu, `bench-${client}`, file.size)
      id = created.id
      if (client === "curl") {
        const finished = yield* curlUpload(emu, created.dataHref, file, path.join(context.tmp, "curl-headers"))
        sample = { mbps: mbPerSecond(file.size, finished.wallMs), rss: finished.maxRssBytes, cpuPerGiB: perGiB(finished.cpuMs, file.size), ms: finished.wallMs, importRss: Number.NaN, releasedMs: Number.NaN }
      } else {
        const { finished, result } = yield* runClient<{ ms: number; cpuMs: number }>("upload-tus", ["--file", file.path, "--upload-url", created.dataHref, ...chunkArgs], { env: emu.env })
        sample = { mbps: mbPerSecond(file.size, result.ms), rss: finished.maxRssBytes, cpuPerGiB: perGiB(result.cpuMs, file.size), ms: result.ms, importRss: Number.NaN, releasedMs: Number.NaN }
      }
    }
    yield* expectReady(emu, id, file.size)
    yield* emu.admin("POST", "/_emulator/reset")
    progress(`upload ${formatBytes(file.size)} ${client}: ${fmt(sample.mbps)} MB/s, CPU ${fmt(sample.cpuPerGiB, 2)} s/GiB, peak RSS ${mib(sample.rss)}`)
    return sample
  })

const percent = (n: number) => `${fmt(n * 100, 1)}%`
const seconds = (n: number) => `${fmt(n, 2)} s`

/** Runs the upload benchmark. */
export const upload: Benchmark = (context) =>
  Effect.gen(function*() {
    const { options, tmp } = context
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const chunkSize = options.chunkBytes
    const emu = yield* EmulatorProcess.start(tmp)
    const stateDir = path.join(tmp, "upload-state")
    progress(`upload: writing a ${formatBytes(options.uploadBytes)} file`)
    const file = yield* makeFile(path.join(tmp, "upload.bin"), options.uploadBytes)

    const samples: Record<Client, Array<Sample>> = { ours: [], plain: [], curl: [], tus: [] }
    const clients: ReadonlyArray<Client> = onPath("curl") ? ["ours", "curl", "plain", "tus"] : ["ours", "plain", "tus"]
    for (let run = 0; run < options.runs; run++) {
      for (const client of alternate(run, clients)) {
        samples[client].push(yield* uploadOnce(client, file, chunkSize, emu, context, stateDir))
      }
    }
    // Where the peak RSS comes from: V8 compiling undici's WebAssembly HTTP parser (llhttp) with its optimising
    // tier on the first requests takes tens of MiB for a moment; Liftoff-only (V8's baseline wasm tier) shows the
    // peak without it.
    const liftoff = yield* uploadOnce("ours", file, chunkSize, emu, context, stateDir, ["--liftoff-only"])
    // the big file is only for ours: free the small one first
    yield* fs.remove(file.path)
    progress(`upload: writing a ${formatBytes(options.uploadLargeBytes)} file`)
    const large = yield* makeFile(path.join(tmp, "upload-large.bin"), options.uploadLargeBytes)
    const largeSample = yield* uploadOnce("ours", large, chunkSize, emu, context, stateDir)
    yield* fs.remove(large.path)

    const mbps = (c: Client) => median(samples[c].map((s) => s.mbps))
    const rss = (c: Client) => max(samples[c].map((s) => s.rss))
    const cpu = (c: Client) => median(samples[c].map((s) => s.cpuPerGiB))
    const wall = (c: Client) => median(samples[c].map((s) => s.ms))
    const size = formatBytes(options.uploadBytes)
    const largeSize = formatBytes(options.uploadLargeBytes)
    const chunks = chunkSize === undefined ? "SDK defaults" : `${formatBytes(chunkSize)} chunks`
    const importRss = median([...samples.ours, largeSample].map((s) => s.importRss))
    const rssLimit = importRss + 3 * targetChunk
    const rssLimitText = `${mib(rssLimit)} (import ${mib(importRss)} + 3 × ${formatBytes(targetChunk)})`
    const markerCost = wall("ours") / wall("plain") - 1
    const released = (c: Client) => median(samples[c].map((s) => s.releasedMs))
    const markerCostReleased = released("ours") / released("plain") - 1
    return {
      rows: [
        ratioRow(`upload ${size} (${chunks}): uploadFile MB/s vs curl, one PATCH`, mbps("ours"), mbps("curl"), "MB/s", 0.8),
        ratioRow(`upload ${size}: uploadFile MB/s vs tus-js-client`, mbps("ours"), mbps("tus"), "MB/s", 1.0),
        limitRow(`upload ${size}: client CPU/GiB without the marker's md5 (baseline: curl)`, cpu("plain"), cpu("curl"), seconds, 2.0, "2.0 s"),
        info(limitRow(`upload ${size}: client CPU/GiB with the marker's md5 (baseline: curl)`, cpu("ours"), cpu("curl"), seconds, Number.POSITIVE_INFINITY, "–")),
        limitRow(`upload ${size}: the marker's cost in wall time (uploadFile vs without the marker)`, markerCost, undefined, percent, 0.1, "10%"),
        info(limitRow(`upload ${size}: the marker's cost until the layer is released (its marker written)`, markerCostReleased, undefined, percent, Number.POSITIVE_INFINITY, "–")),
        limitRow(`upload ${size}: uploadFile peak RSS (baseline: RSS after import)`, rss("ours"), importRss, mib, rssLimit, rssLimitText),
        limitRow(`upload ${largeSize}: uploadFile peak RSS (baseline: RSS after import)`, largeSample.rss, importRss, mib, rssLimit, rssLimitText),
        limitRow(`upload ${largeSize} vs ${size}: uploadFile peak RSS (flat)`, largeSample.rss, rss("ours"), mib, rss("ours") * 1.05, "1.05× (flat)"),
        info(limitRow(`upload ${size}: uploadFile peak RSS, node --liftoff-only (no optimised compile of undici's WebAssembly parser)`, liftoff.rss, importRss, mib, rssLimit, rssLimitText)),
        info(ratioRow(`upload ${size}: without the marker (NodeFileSource + Upload.upload) vs curl`, mbps("plain"), mbps("curl"), "MB/s", 0.8))
      ],
      series: [
        ...(["ours", "plain", "curl", "tus"] as const).flatMap((c) => [
          series(`upload ${size} ${c}`, "MB/s", samples[c].map((s) => s.mbps)),
          series(`upload ${size} ${c} CPU`, "s/GiB", samples[c].map((s) => s.cpuPerGiB)),
          series(`upload ${size} ${c} peak RSS`, "bytes", samples[c].map((s) => s.rss))
        ]),
        series(`upload ${size} ours RSS after import`, "bytes", samples.ours.map((s) => s.importRss)),
        series(`upload ${size} ours --liftoff-only peak RSS`, "bytes", [liftoff.rss]),
        series(`upload ${largeSize} ours`, "MB/s", [largeSample.mbps]),
        series(`upload ${largeSize} ours peak RSS`, "bytes", [largeSample.rss])
      ],
      notes: [
        ...(onPath("curl") ? [] : ["upload: curl is not installed, so the curl baseline is missing."]),
        `upload ${size} (${chunks}): medians of ${options.runs} — uploadFile ${fmt(mbps("ours"))} MB/s (without the marker ${fmt(mbps("plain"))} MB/s), curl ${fmt(mbps("curl"))} MB/s, tus-js-client ${fmt(mbps("tus"))} MB/s; peak RSS uploadFile ${mib(rss("ours"))} (without the marker ${mib(rss("plain"))}; RSS after import ${mib(importRss)}), curl ${mib(rss("curl"))}, tus-js-client ${mib(rss("tus"))}.`,
        `upload ${size}: client CPU per GiB (median; ours and tus-js-client from their own clocks, curl from GNU time) — uploadFile ${fmt(cpu("ours"), 2)} s (without the marker ${fmt(cpu("plain"), 2)} s), curl ${fmt(cpu("curl"), 2)} s, tus-js-client ${fmt(cpu("tus"), 2)} s; wall uploadFile ${fmt(wall("ours") / 1000, 2)} s, without the marker ${fmt(wall("plain") / 1000, 2)} s; from before the upload until the layer was released (uploadFile's marker written) ${fmt(released("ours") / 1000, 2)} s and ${fmt(released("plain") / 1000, 2)} s.`,
        `upload ${largeSize} (uploadFile, 1 run): ${fmt(largeSample.mbps)} MB/s, CPU ${fmt(largeSample.cpuPerGiB, 2)} s/GiB, peak RSS ${mib(largeSample.rss)}.`,
        `upload ${size} (uploadFile under node --liftoff-only, 1 run): ${fmt(liftoff.mbps)} MB/s, CPU ${fmt(liftoff.cpuPerGiB, 2)} s/GiB, peak RSS ${mib(liftoff.rss)}.`
      ]
    }
  })
