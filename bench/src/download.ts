/**
 * Download (issue 14): one artifact of `--download-size` (uploaded once with `fetch`, outside any timing) fetched by
 * `NodeTransfer.downloadToFile` with its defaults (size checked, temporary file renamed into place), by
 * `Download.stream` consumed and discarded, and by `curl -o`, alternating, each a child process under GNU time.
 * MB/s (ours from its own clock, excluding Node's start-up; curl from spawn to exit), client CPU per GiB and peak
 * RSS. Then ours alone, once each, at `--large-download-size` (4×): peak RSS must stay under the RSS right after
 * importing `@ivcap/node` plus three chunks (`Upload.defaultChunkSize`), flat with the size. Each downloaded file
 * is checked (size and sampled bytes) against the source, then deleted; the discarded stream must count the size.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Upload } from "@ivcap/core"
import * as Effect from "effect/Effect"
import { open } from "node:fs/promises"
import { CheckFailed, createArtifact, curlDownload, expectReady, makeFile, mbPerSecond, patchFile, perGiB } from "./lib/Artifacts.js"
import { alternate, type Benchmark, progress } from "./lib/Bench.js"
import { onPath, runClient } from "./lib/Child.js"
import * as EmulatorProcess from "./lib/EmulatorProcess.js"
import { formatBytes } from "./lib/Options.js"
import { fmt, info, limitRow, max, median, mib, ratioRow, series } from "./lib/Report.js"

type Client = "node" | "discard" | "curl"

interface Sample {
  readonly mbps: number
  readonly rss: number
  readonly cpuPerGiB: number
  /** RSS right after importing `@ivcap/node` (ours only). */
  readonly importRss: number
}

/** The chunk the RSS target counts three of: the SDK's default upload chunk. */
const targetChunk = Upload.defaultChunkSize

/** Compares 64 KiB at the start, middle and end of two files of `size` bytes. */
const sameSamples = (a: string, b: string, size: number) =>
  Effect.promise(async () => {
    const [fa, fb] = await Promise.all([open(a), open(b)])
    try {
      const n = Math.min(65536, size)
      for (const at of [0, Math.floor(size / 2), size - n]) {
        const [ra, rb] = await Promise.all([fa.read(Buffer.alloc(n), 0, n, at), fb.read(Buffer.alloc(n), 0, n, at)])
        if (!ra.buffer.equals(rb.buffer)) return false
      }
      return true
    } finally {
      await Promise.all([fa.close(), fb.close()])
    }
  })

/** An uploaded artifact of `size` pseudo-random bytes, and its source file. */
const seed = (emu: EmulatorProcess.EmulatorProcess, tmp: string, name: string, size: number) =>
  Effect.gen(function*() {
    const path = yield* Path.Path
    progress(`download: writing and uploading a ${formatBytes(size)} file`)
    const source = yield* makeFile(path.join(tmp, `${name}.bin`), size)
    const artifact = yield* createArtifact(emu, name, size)
    yield* patchFile(emu, artifact.dataHref, source.path, size)
    yield* expectReady(emu, artifact.id, size)
    return { source: source.path, size, ...artifact }
  })

/** One download by `client`, checked: the file's size and sampled bytes, or the discarded stream's byte count. */
const downloadOnce = (client: Client, emu: EmulatorProcess.EmulatorProcess, tmp: string, seeded: Effect.Effect.Success<ReturnType<typeof seed>>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const { size } = seeded
    const out = path.join(tmp, "downloaded.bin")
    let sample: Sample
    if (client === "curl") {
      const { finished } = yield* curlDownload(emu, seeded.dataHref, out, path.join(tmp, "curl-headers"))
      sample = { mbps: mbPerSecond(size, finished.wallMs), rss: finished.maxRssBytes, cpuPerGiB: perGiB(finished.cpuMs, size), importRss: Number.NaN }
    } else {
      const { finished, result } = yield* runClient<{ bytes: number; ms: number; cpuMs: number; importRss: number }>(
        "download-ours",
        ["--artifact", seeded.id, "--out", out, "--api", client],
        { env: emu.env }
      )
      if (client === "discard" && result.bytes !== size) {
        return yield* new CheckFailed({ message: `Download.stream delivered ${result.bytes} bytes, expected ${size}` })
      }
      sample = { mbps: mbPerSecond(result.bytes, result.ms), rss: finished.maxRssBytes, cpuPerGiB: perGiB(result.cpuMs, size), importRss: result.importRss }
    }
    if (client !== "discard") {
      const got = Number((yield* fs.stat(out)).size)
      if (got !== size || !(yield* sameSamples(seeded.source, out, size))) {
        return yield* new CheckFailed({ message: `${client} downloaded ${got} bytes that differ from the ${size} uploaded` })
      }
      yield* fs.remove(out)
    }
    progress(`download ${formatBytes(size)} ${client}: ${fmt(sample.mbps)} MB/s, CPU ${fmt(sample.cpuPerGiB, 2)} s/GiB, peak RSS ${mib(sample.rss)}`)
    return sample
  })

const names: Record<Client, string> = { node: "downloadToFile (defaults)", discard: "Download.stream discarded", curl: "curl -o" }

/** Runs the download benchmark. */
export const download: Benchmark = ({ options, tmp }) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const emu = yield* EmulatorProcess.start(tmp)
    const seeded = yield* seed(emu, tmp, "bench-download", options.downloadBytes)
    const clients: ReadonlyArray<Client> = onPath("curl") ? ["node", "curl", "discard"] : ["node", "discard"]
    const samples: Record<Client, Array<Sample>> = { node: [], discard: [], curl: [] }
    for (let run = 0; run < options.runs; run++) {
      for (const client of alternate(run, clients)) samples[client].push(yield* downloadOnce(client, emu, tmp, seeded))
    }
    yield* fs.remove(seeded.source)
    // The large size, ours only, once each: does the peak RSS grow with the size?
    const large = yield* seed(emu, tmp, "bench-download-large", options.downloadLargeBytes)
    const largeSamples = { node: yield* downloadOnce("node", emu, tmp, large), discard: yield* downloadOnce("discard", emu, tmp, large) }
    yield* fs.remove(large.source)

    const mbps = (c: Client) => median(samples[c].map((s) => s.mbps))
    const rss = (c: Client) => max(samples[c].map((s) => s.rss))
    const cpu = (c: Client) => median(samples[c].map((s) => s.cpuPerGiB))
    const importRss = median([...samples.node, ...samples.discard, largeSamples.node, largeSamples.discard].map((s) => s.importRss))
    const rssLimit = importRss + 3 * targetChunk
    const rssLimitText = `${mib(rssLimit)} (import ${mib(importRss)} + 3 × ${formatBytes(targetChunk)})`
    const label = `download ${formatBytes(seeded.size)}`
    const largeLabel = `download ${formatBytes(large.size)}`
    const ours = ["node", "discard"] as const
    return {
      rows: [
        ratioRow(`${label}: ${names.node} MB/s vs curl -o`, mbps("node"), mbps("curl"), "MB/s", 0.8),
        ratioRow(`${label}: ${names.discard} MB/s vs curl -o`, mbps("discard"), mbps("curl"), "MB/s", 0.9),
        ...ours.map((c) => info(ratioRow(`${label}: ${names[c]} client CPU per GiB vs curl -o`, cpu(c), cpu("curl"), "s", Number.NaN, 2))),
        ...ours.map((c) => limitRow(`${label}: ${names[c]} peak RSS (baseline: RSS after import)`, rss(c), importRss, mib, rssLimit, rssLimitText)),
        ...ours.map((c) => limitRow(`${largeLabel}: ${names[c]} peak RSS (baseline: RSS after import)`, largeSamples[c].rss, importRss, mib, rssLimit, rssLimitText)),
        ...ours.map((c) => info(limitRow(`${largeLabel} vs ${formatBytes(seeded.size)}: ${names[c]} peak RSS (flat)`, largeSamples[c].rss, rss(c), mib, Number.NaN, "–")))
      ],
      series: [
        ...(["node", "discard", "curl"] as const).flatMap((c) => [
          series(`${label} ${c}`, "MB/s", samples[c].map((s) => s.mbps)),
          series(`${label} ${c} CPU per GiB`, "s", samples[c].map((s) => s.cpuPerGiB)),
          series(`${label} ${c} peak RSS`, "bytes", samples[c].map((s) => s.rss))
        ]),
        ...ours.flatMap((c) => [
          series(`${largeLabel} ${c}`, "MB/s", [largeSamples[c].mbps]),
          series(`${largeLabel} ${c} peak RSS`, "bytes", [largeSamples[c].rss])
        ]),
        series(`${label} ours RSS after import`, "bytes", [...samples.node, ...samples.discard].map((s) => s.importRss))
      ],
      notes: [
        ...(onPath("curl") ? [] : ["download: curl is not installed, so the curl baseline is missing."]),
        `${label}: medians of ${options.runs} — downloadToFile ${fmt(mbps("node"))} MB/s, Download.stream discarded ${fmt(mbps("discard"))} MB/s, curl -o ${
          fmt(mbps("curl"))
        } MB/s; client CPU per GiB downloadToFile ${fmt(cpu("node"), 2)} s, discarded ${fmt(cpu("discard"), 2)} s, curl ${fmt(cpu("curl"), 2)} s; peak RSS downloadToFile ${
          mib(rss("node"))
        }, discarded ${mib(rss("discard"))}, curl ${mib(rss("curl"))}; RSS after importing @ivcap/node ${mib(importRss)}.`,
        `${largeLabel} (1 run each): downloadToFile ${fmt(largeSamples.node.mbps)} MB/s, CPU ${fmt(largeSamples.node.cpuPerGiB, 2)} s/GiB, peak RSS ${
          mib(largeSamples.node.rss)
        }; discarded ${fmt(largeSamples.discard.mbps)} MB/s, CPU ${fmt(largeSamples.discard.cpuPerGiB, 2)} s/GiB, peak RSS ${mib(largeSamples.discard.rss)}.`
      ]
    }
  })
