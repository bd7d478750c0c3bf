/**
 * Upload: the same generated file sent to the same emulator (a separate, disk-backed process) by three clients,
 * alternating, each a child process under GNU time:
 * - ours: `@ivcap/node`'s `NodeTransfer.uploadFile` (with `force`, so the md5 marker never skips an upload),
 *   creating the record itself; and, as a reference, core `Upload.upload` of `UploadSource.fromFile` (no marker);
 * - curl: one process PATCHing pre-cut chunk files of the same size to a fresh `data-href` (connection reused);
 * - tus-js-client (npm) in Node, to a fresh `data-href`, same chunk size.
 * Figures: MB/s and CPU time (ours and tus from their own clocks, excluding Node's start-up; curl from spawn to
 * exit) and peak RSS. Ours is then repeated at the large size: its RSS must not grow with the size. Every upload is checked to
 * have produced a `ready` artifact of the right size, then the emulator is reset (which frees its disk).
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

type Client = "ours" | "core" | "curl" | "tus"

interface Sample {
  readonly mbps: number
  readonly rss: number
  /** Client CPU seconds per GiB sent. */
  readonly cpuPerGiB: number
}

const rssLimit = 128 * 2 ** 20

/** Uploads `file` once with `client` and returns its throughput and peak RSS. */
const uploadOnce = (client: Client, file: TestFile, chunkSize: number, emu: EmulatorProcess.EmulatorProcess, context: Context, stateDir: string) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    let sample: Sample
    let id: string
    if (client === "ours" || client === "core") {
      const api = client === "ours" ? "node" : "core"
      const { finished, result } = yield* runClient<{ id: string; ms: number; cpuMs: number }>("upload-ours", ["--file", file.path, "--chunk-size", String(chunkSize), "--api", api], {
        env: { ...emu.env, IVCAP_UPLOAD_STATE_DIR: stateDir }
      })
      id = result.id
      sample = { mbps: mbPerSecond(file.size, result.ms), rss: finished.maxRssBytes, cpuPerGiB: perGiB(result.cpuMs, file.size) }
    } else {
      const created = yield* createArtifact(emu, `bench-${client}`, file.size)
      id = created.id
      if (client === "curl") {
        const finished = yield* curlUpload(emu, created.dataHref, file, path.join(context.tmp, "curl-headers"))
        sample = { mbps: mbPerSecond(file.size, finished.wallMs), rss: finished.maxRssBytes, cpuPerGiB: perGiB(finished.cpuMs, file.size) }
      } else {
        const { finished, result } = yield* runClient<{ ms: number; cpuMs: number }>("upload-tus", ["--file", file.path, "--upload-url", created.dataHref, "--chunk-size", String(chunkSize)], { env: emu.env })
        sample = { mbps: mbPerSecond(file.size, result.ms), rss: finished.maxRssBytes, cpuPerGiB: perGiB(result.cpuMs, file.size) }
      }
    }
    yield* expectReady(emu, id, file.size)
    yield* emu.admin("POST", "/_emulator/reset")
    progress(`upload ${formatBytes(file.size)} ${client}: ${fmt(sample.mbps)} MB/s, CPU ${fmt(sample.cpuPerGiB, 2)} s/GiB, peak RSS ${mib(sample.rss)}`)
    return sample
  })

/** Runs the upload benchmark. */
export const upload: Benchmark = (context) =>
  Effect.gen(function*() {
    const { options, tmp } = context
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const chunkSize = options.chunkBytes ?? Upload.defaultChunkSize
    const emu = yield* EmulatorProcess.start(tmp)
    const stateDir = path.join(tmp, "upload-state")
    const chunkDir = path.join(tmp, "chunks")
    yield* fs.makeDirectory(chunkDir)
    progress(`upload: writing a ${formatBytes(options.uploadBytes)} file (and its ${formatBytes(chunkSize)} chunk files for curl)`)
    const file = yield* makeFile(path.join(tmp, "upload.bin"), options.uploadBytes, { dir: chunkDir, chunkSize })

    const samples: Record<Client, Array<Sample>> = { ours: [], core: [], curl: [], tus: [] }
    const clients: ReadonlyArray<Client> = onPath("curl") ? ["ours", "curl", "tus", "core"] : ["ours", "tus", "core"]
    for (let run = 0; run < options.runs; run++) {
      for (const client of alternate(run, clients)) {
        samples[client].push(yield* uploadOnce(client, file, chunkSize, emu, context, stateDir))
      }
    }
    // the big file is only for ours: free the small one and the chunk files first
    yield* fs.remove(chunkDir, { recursive: true })
    yield* fs.remove(file.path)
    progress(`upload: writing a ${formatBytes(options.uploadLargeBytes)} file`)
    const large = yield* makeFile(path.join(tmp, "upload-large.bin"), options.uploadLargeBytes)
    const largeSample = yield* uploadOnce("ours", large, chunkSize, emu, context, stateDir)
    yield* fs.remove(large.path)

    const mbps = (c: Client) => median(samples[c].map((s) => s.mbps))
    const rss = (c: Client) => max(samples[c].map((s) => s.rss))
    const cpu = (c: Client) => median(samples[c].map((s) => s.cpuPerGiB))
    const size = formatBytes(options.uploadBytes)
    const largeSize = formatBytes(options.uploadLargeBytes)
    return {
      rows: [
        ratioRow(`upload ${size} (${formatBytes(chunkSize)} chunks): MB/s vs curl`, mbps("ours"), mbps("curl"), "MB/s", 0.9),
        ratioRow(`upload ${size}: MB/s vs tus-js-client`, mbps("ours"), mbps("tus"), "MB/s", 1.0),
        limitRow(`upload ${size}: peak RSS (baseline: tus-js-client)`, rss("ours"), rss("tus"), mib, rssLimit, "128 MiB"),
        info(ratioRow(`upload ${size}: core Upload.upload (no md5 marker) vs curl`, mbps("core"), mbps("curl"), "MB/s", 0.9)),
        limitRow(`upload ${largeSize} (ours): peak RSS (baseline: ours at ${size})`, largeSample.rss, rss("ours"), mib, rssLimit, "128 MiB")
      ],
      series: [
        ...(["ours", "core", "curl", "tus"] as const).flatMap((c) => [
          series(`upload ${size} ${c}`, "MB/s", samples[c].map((s) => s.mbps)),
          series(`upload ${size} ${c} peak RSS`, "bytes", samples[c].map((s) => s.rss))
        ]),
        series(`upload ${largeSize} ours`, "MB/s", [largeSample.mbps]),
        series(`upload ${largeSize} ours peak RSS`, "bytes", [largeSample.rss])
      ],
      notes: [
        ...(onPath("curl") ? [] : ["upload: curl is not installed, so the curl baseline is missing."]),
        `upload ${size}: medians of ${options.runs} — ours ${fmt(mbps("ours"))} MB/s (core Upload.upload without the marker's md5 ${fmt(mbps("core"))} MB/s), curl ${fmt(mbps("curl"))} MB/s, tus-js-client ${fmt(mbps("tus"))} MB/s; peak RSS ours ${mib(rss("ours"))}, curl ${mib(rss("curl"))}, tus-js-client ${mib(rss("tus"))}.`,
        `upload ${size}: client CPU per GiB (median; ours and tus-js-client from their own clocks, curl from GNU time) — ours ${fmt(cpu("ours"), 2)} s (core ${fmt(cpu("core"), 2)} s), curl ${fmt(cpu("curl"), 2)} s, tus-js-client ${fmt(cpu("tus"), 2)} s.`,
        `upload ${largeSize} (ours, 1 run): ${fmt(largeSample.mbps)} MB/s, CPU ${fmt(largeSample.cpuPerGiB, 2)} s/GiB, peak RSS ${mib(largeSample.rss)}.`
      ]
    }
  })
