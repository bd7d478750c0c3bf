/**
 * Download: one artifact of `--download-size` (uploaded once by curl, outside any timing) fetched to a file by
 * ours (`Download.stream` into the FileSystem sink, `@ivcap/node` layer), by `curl -o`, and — as a reference —
 * by `NodeTransfer.downloadToFile` (which also hashes and verifies), alternating, each a child process under GNU
 * time. MB/s (ours from its own clock, excluding Node's start-up; curl from spawn to
 * exit) and peak RSS. Each downloaded file is checked (size and sampled bytes) against the source, then deleted.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Effect from "effect/Effect"
import { open } from "node:fs/promises"
import { CheckFailed, createArtifact, curlDownload, expectReady, makeFile, mbPerSecond, patchFile, perGiB } from "./lib/Artifacts.js"
import { alternate, type Benchmark, progress } from "./lib/Bench.js"
import { onPath, runClient } from "./lib/Child.js"
import * as EmulatorProcess from "./lib/EmulatorProcess.js"
import { formatBytes } from "./lib/Options.js"
import { fmt, info, limitRow, max, median, mib, ratioRow, series } from "./lib/Report.js"

type Client = "ours" | "node" | "curl"

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

/** Runs the download benchmark. */
export const download: Benchmark = ({ options, tmp }) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const emu = yield* EmulatorProcess.start(tmp)
    const size = options.downloadBytes
    progress(`download: writing and uploading a ${formatBytes(size)} file`)
    const source = yield* makeFile(path.join(tmp, "source.bin"), size)
    const artifact = yield* createArtifact(emu, "bench-download", size)
    yield* patchFile(emu, artifact.dataHref, source.path, size)
    yield* expectReady(emu, artifact.id, size)
    const clients: ReadonlyArray<Client> = onPath("curl") ? ["ours", "curl", "node"] : ["ours", "node"]

    const out = path.join(tmp, "downloaded.bin")
    const samples: Record<Client, Array<{ mbps: number; rss: number; cpuPerGiB: number }>> = { ours: [], node: [], curl: [] }
    for (let run = 0; run < options.runs; run++) {
      for (const client of alternate(run, clients)) {
        let sample: { mbps: number; rss: number; cpuPerGiB: number }
        if (client !== "curl") {
          const api = client === "ours" ? "stream" : "node"
          const { finished, result } = yield* runClient<{ bytes: number; ms: number; cpuMs: number }>("download-ours", ["--artifact", artifact.id, "--out", out, "--api", api], { env: emu.env })
          sample = { mbps: mbPerSecond(result.bytes, result.ms), rss: finished.maxRssBytes, cpuPerGiB: perGiB(result.cpuMs, size) }
        } else {
          const { finished } = yield* curlDownload(emu, artifact.dataHref, out, path.join(tmp, "curl-headers"))
          sample = { mbps: mbPerSecond(size, finished.wallMs), rss: finished.maxRssBytes, cpuPerGiB: perGiB(finished.cpuMs, size) }
        }
        const got = Number((yield* fs.stat(out)).size)
        if (got !== size || !(yield* sameSamples(source.path, out, size))) {
          return yield* new CheckFailed({ message: `${client} downloaded ${got} bytes that differ from the ${size} uploaded` })
        }
        yield* fs.remove(out)
        samples[client].push(sample)
        progress(`download ${formatBytes(size)} ${client}: ${fmt(sample.mbps)} MB/s, CPU ${fmt(sample.cpuPerGiB, 2)} s/GiB, peak RSS ${mib(sample.rss)}`)
      }
    }
    const mbps = (c: Client) => median(samples[c].map((s) => s.mbps))
    const rss = (c: Client) => max(samples[c].map((s) => s.rss))
    const cpu = (c: Client) => median(samples[c].map((s) => s.cpuPerGiB))
    const label = `download ${formatBytes(size)}`
    return {
      rows: [
        ratioRow(`${label}: MB/s vs curl -o`, mbps("ours"), mbps("curl"), "MB/s", 0.9),
        limitRow(`${label}: peak RSS (baseline: curl)`, rss("ours"), rss("curl"), mib, 128 * 2 ** 20, "128 MiB"),
        info(ratioRow(`${label}: NodeTransfer.downloadToFile (sha-256, atomic) vs curl -o`, mbps("node"), mbps("curl"), "MB/s", 0.9))
      ],
      series: (["ours", "node", "curl"] as const).flatMap((c) => [
        series(`${label} ${c}`, "MB/s", samples[c].map((s) => s.mbps)),
        series(`${label} ${c} peak RSS`, "bytes", samples[c].map((s) => s.rss))
      ]),
      notes: [...(onPath("curl") ? [] : ["download: curl is not installed, so the curl baseline is missing."]), `${label}: medians of ${options.runs} — ours ${fmt(mbps("ours"))} MB/s (downloadToFile ${fmt(mbps("node"))} MB/s), curl ${fmt(mbps("curl"))} MB/s; client CPU per GiB ours ${fmt(cpu("ours"), 2)} s (downloadToFile ${fmt(cpu("node"), 2)} s), curl ${fmt(cpu("curl"), 2)} s; peak RSS ours ${mib(rss("ours"))}, curl ${mib(rss("curl"))}.`]
    }
  })
