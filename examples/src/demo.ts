/**
 * `npm run demo`: a tour of the SDK doing real work. It starts an IVCAP emulator embedded in this process
 * (disk-backed, in a temp folder) — or, when IVCAP_URL is set, uses that deployment with IVCAP_JWT — and then:
 * lists services as a Stream, finds one by name, shows its parameters, places an order and follows it to the end,
 * runs a service as a job (API v0.44+) showing its events live as they happen,
 * uploads a generated file with a live progress bar (interrupted on purpose halfway, then resumed), attaches
 * metadata aspects and reads them back with a schema filter and `at-time`, bulk-creates a few thousand aspects
 * with bounded concurrency and streams them back, and downloads the artifact to verify it. With the embedded
 * emulator it then logs in with a device code (as `ivcap context login`) and shows an expired token renewed once
 * for twenty concurrent requests. Temp data is removed.
 *
 * Options (environment): DEMO_SIZE_MIB (default 256), DEMO_ASPECTS (default 2000), DEMO_JOB_SERVICE (default slow).
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Aspect, Job, Order, Service, Upload } from "@ivcap/core"
import { Emulator, SeedData } from "@ivcap/emulator"
import * as EmulatorServer from "@ivcap/emulator/EmulatorServer"
import { IvcapNode, NodeFileSource, NodeLogin } from "@ivcap/node"
import * as NodeTransfer from "@ivcap/node/NodeTransfer"
import * as Chunk from "effect/Chunk"
import * as Console from "effect/Console"
import * as DateTime from "effect/DateTime"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { createHash, randomBytes } from "node:crypto"
import * as Progress from "./internal/progress.js"

const sizeMiB = Number(process.env.DEMO_SIZE_MIB ?? 256)
const aspectCount = Number(process.env.DEMO_ASPECTS ?? 2000)
const demoSchema = "urn:ivcap:schema:demo.note.1"

let stepNo = 0
const step = (title: string) => Console.log(`\n${++stepNo}. ${title}`)
const info = (line: string) => Console.log(`   ${line}`)

/** Writes `sizeMiB` of random bytes to a file, returning its sha256. */
const generateFile = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const hash = createHash("sha256")
    yield* Stream.range(1, sizeMiB).pipe(
      Stream.map(() => {
        const chunk = randomBytes(1024 * 1024)
        hash.update(chunk)
        return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      }),
      Stream.run(fs.sink(path))
    )
    return hash.digest("hex")
  })

const tour = (workDir: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem

    yield* step("List services (a Stream; the first 5, 2 per page to show paging)")
    const first = yield* Service.list({ pageSize: 2 }).pipe(Stream.take(5), Stream.runCollect)
    for (const s of first) yield* info(`${s.name ?? "(no name)"}  ${s.id}`)

    yield* step("Find a service by name")
    const wanted = Option.getOrElse(Option.fromNullable(process.env.DEMO_SERVICE), () => SeedData.helloWorld.name)
    const found = yield* Service.getByName(wanted).pipe(Effect.option)
    if (Option.isNone(found)) {
      yield* info(`no service named '${wanted}' here: ordering is skipped`)
    } else {
      const service = yield* Service.get(found.value.id)
      yield* info(`${service.name} (${service.status}): ${service.description ?? ""}`)

      yield* step("Its parameters")
      for (const p of service.parameters) {
        yield* info(`${p.name}: ${p.type}${p.isOptional ? " (optional)" : ""}${p.default ? ` = ${p.default}` : ""} — ${p.description}`)
      }

      yield* step("Place an order and follow it to the end")
      const order = yield* Order.place(service.id, { [service.mandatoryParameters[0] ?? "msg"]: "Effect" }, { name: "demo order" })
      yield* info(`placed ${order.id} (${order.status})`)
      const final = yield* Order.watch(order.id, { schedule: Progress.poll }).pipe(
        Stream.tap((o) => info(`status: ${o.status}`)),
        Stream.runLast,
        Effect.map(Option.getOrThrow),
        Effect.timeout("2 minutes")
      )
      const products = yield* Order.products(final.id).pipe(Stream.runCollect)
      for (const p of products) yield* info(`product ${p.name ?? p.id} (${p.mimeType ?? "?"}, ${p.size ?? "?"} bytes)`)
    }

    yield* step("Run a service as a job (API v0.44+) and show its events live")
    if ((yield* Service.apiVersion) === "v0.41") {
      yield* info("this deployment speaks API v0.41 (no jobs): skipped")
    } else {
      const jobServiceName = process.env.DEMO_JOB_SERVICE ?? "slow"
      const jobService = yield* Service.getByName(jobServiceName).pipe(Effect.option)
      if (Option.isNone(jobService)) {
        yield* info(`no service named '${jobServiceName}' here: skipped`)
      } else {
        const tool = yield* Service.toolSchema(jobService.value.id).pipe(Effect.option)
        yield* info(`request schema: ${Option.match(tool, { onNone: () => "(none)", onSome: (t) => JSON.stringify(t.requestSchema["properties"] ?? {}) })}`)
        // checked against that schema before anything is sent: a bad input would be an InvalidParameter naming the field
        const ticket = yield* Job.request(jobService.value.id, { seconds: 3, message: "hello from the demo" }, Option.match(tool, { onNone: () => ({}), onSome: (t) => ({ schema: t }) }))
        yield* info(`job ${ticket.job}: ${ticket._tag === "Accepted" ? `accepted, retry later ${Duration.format(ticket.retryLater)}` : "finished at once"}`)
        yield* Job.events(ticket.service, ticket.job).pipe(
          Stream.runForEach((e) => info(`event #${e.seqId} ${e.type ?? ""} ${JSON.stringify(e.data)}`)),
          Effect.timeout("2 minutes")
        )
        const done = yield* Job.wait(ticket.service, ticket.job, { schedule: Progress.poll })
        yield* info(`job ${done.status}: ${JSON.stringify(done.resultContent)}`)
      }
    }

    yield* step(`Upload a generated ${sizeMiB} MiB file, interrupt it halfway on purpose, resume it`)
    const file = `${workDir}/demo-data.bin`
    const sha256 = yield* generateFile(file)
    // Node streams read the file: about half the CPU per byte of the platform-free UploadSource.fromFile.
    const source = yield* NodeFileSource.fromFile(file)
    const total = sizeMiB * 1024 * 1024
    const bar = Progress.bar(total)
    // First attempt: stop consuming the progress stream at 50% — that interrupts the upload mid-flight.
    yield* Upload.uploadWithProgress(source, { chunkSize: 4 * 1024 * 1024 }).pipe(
      Stream.takeUntil((e) => e._tag === "Progress" && e.confirmed >= total / 2),
      Stream.runForEach((e) => (e._tag === "Progress" ? bar.update(e.confirmed) : Effect.void))
    )
    yield* bar.done("interrupted")
    // Second attempt: the upload store remembers the unfinished upload of this file, so it resumes.
    const resumedBar = Progress.bar(total)
    const events = yield* Upload.uploadWithProgress(source, { chunkSize: 4 * 1024 * 1024 }).pipe(
      Stream.tap((e) => (e._tag === "Progress" ? resumedBar.update(e.confirmed) : Effect.void)),
      Stream.runCollect
    )
    const firstProgress = Chunk.findFirst(events, (e) => e._tag === "Progress")
    const completed = Chunk.findLast(events, (e) => e._tag === "Completed")
    if (Option.isNone(completed) || completed.value._tag !== "Completed") return yield* Effect.dieMessage("upload did not complete")
    const artifact = completed.value.artifact
    yield* resumedBar.done(`resumed from ${Option.match(firstProgress, { onNone: () => "?", onSome: (p) => (p._tag === "Progress" ? Progress.mib(p.confirmed) : "?") })}`)
    yield* info(`${artifact.id}: ${artifact.status}, ${artifact.size} bytes`)

    yield* step("Attach metadata aspects; list them back with a schema filter and at-time")
    const before = yield* DateTime.now
    yield* Effect.sleep("5 millis")
    const noteId = yield* Aspect.add(artifact.id, { $schema: demoSchema, note: "first version", sha256 })
    yield* Effect.sleep("5 millis")
    const afterAdd = yield* DateTime.now
    yield* Effect.sleep("5 millis")
    yield* Aspect.update(artifact.id, { $schema: demoSchema, note: "second version", sha256 })
    const showAt = (label: string, at: DateTime.Utc | undefined) =>
      Aspect.list({ entity: artifact.id, schema: "urn:ivcap:schema:demo%", ...(at ? { atTime: at } : {}) }).pipe(
        Stream.runCollect,
        Effect.flatMap((items) => info(`${label}: ${items.length === 0 ? "(none)" : Chunk.toReadonlyArray(items).map((a) => JSON.stringify(a.content?.note)).join(", ")}`))
      )
    yield* showAt("now", undefined)
    yield* showAt(`at ${DateTime.formatIso(afterAdd)}`, afterAdd)
    yield* showAt(`at ${DateTime.formatIso(before)}`, before)
    yield* info(`first record ${noteId} is kept, retracted, and still readable in the past`)

    yield* step(`Bulk-create ${aspectCount} aspects (concurrency 16) and stream them back`)
    const entity = `urn:ivcap:demo:bulk-${Date.now()}`
    const [took] = yield* Effect.forEach(
      Array.from({ length: aspectCount }, (_, i) => i),
      (i) => Aspect.add(entity, { $schema: "urn:ivcap:schema:demo.bulk.1", index: i }),
      { concurrency: 16, discard: true }
    ).pipe(Effect.timed)
    yield* info(`created ${aspectCount} in ${Progress.millis(took)}`)
    const [readTook, count] = yield* Aspect.list({ entity, includeContent: false }).pipe(Stream.runCount, Effect.timed)
    yield* info(`streamed back ${count} in ${Progress.millis(readTook)}`)
    if (count !== aspectCount) return yield* Effect.dieMessage(`expected ${aspectCount} aspects, listed ${count}`)

    yield* step("Download the artifact and verify it")
    const downloaded = yield* NodeTransfer.downloadToFile(artifact, `${workDir}/downloaded.bin`, { sha256 })
    yield* info(`${Progress.mib(downloaded.size)} written, sha256 ${Option.getOrElse(downloaded.sha256, () => "").slice(0, 16)}… matches`)
    yield* fs.remove(file)
  })

/** A client for the embedded emulator. */
const embeddedClient = (workDir: string) =>
  Layer.unwrapEffect(Effect.gen(function*() {
    const server = yield* EmulatorServer.EmulatorServer
    const emulator = yield* Emulator.Emulator
    yield* Console.log(`Embedded IVCAP emulator at ${server.url} (set IVCAP_URL and IVCAP_JWT to use a deployment)`)
    return IvcapNode.layer({ url: server.url, token: emulator.token, uploadStateDir: `${workDir}/upload-state` })
  }))

/**
 * With the embedded emulator: a device login saved as the CLI saves it, then the token expires and twenty
 * concurrent requests renew it once (the new tokens written back to the config).
 */
const loginStep = (workDir: string) =>
  Effect.gen(function*() {
    const server = yield* EmulatorServer.EmulatorServer
    const emulator = yield* Emulator.Emulator
    yield* step("Log in with a device code (as `ivcap context login`); the token expires, 20 requests renew it once")
    const cliConfigDir = `${workDir}/ivcap-cli`
    yield* NodeLogin.login({
      url: server.url,
      context: "demo",
      cliConfigDir,
      onEvent: (e) =>
        e._tag === "Prompt"
          ? Effect.zipRight(
            info(`open ${e.verificationUriComplete ?? e.verificationUri} and enter ${e.userCode} (the demo approves it)`),
            Effect.promise(() => fetch(e.verificationUri, { method: "POST", body: new URLSearchParams({ user_code: e.userCode }) }))
          )
          : e._tag === "LoggedIn"
          ? info(`logged in as ${e.account?.email ?? "?"}, saved to ${cliConfigDir}/config.yaml`)
          : Effect.void
    }).pipe(Effect.provide(NodeHttpClient.layerUndici))
    const before = (yield* emulator.oauth.stats).refreshGrants
    yield* emulator.oauth.expireAccessTokens
    yield* Effect.all(Array.from({ length: 20 }, () => Service.list({ pageSize: 1 }).pipe(Stream.take(1), Stream.runDrain)), { concurrency: "unbounded" }).pipe(
      Effect.provide(IvcapNode.layer({ cliConfigDir, context: "demo", uploadStateDir: `${workDir}/upload-state` }))
    )
    const refreshes = (yield* emulator.oauth.stats).refreshGrants - before
    yield* info(`20 requests on the expired token: ${refreshes} refresh, the renewed tokens written back to config.yaml`)
  })

const main = Effect.gen(function*() {
  const fs = yield* FileSystem.FileSystem
  const workDir = yield* fs.makeTempDirectoryScoped({ prefix: "ivcap-demo-" })
  if (process.env.IVCAP_URL) {
    yield* tour(workDir).pipe(Effect.provide(IvcapNode.layer({ uploadStateDir: `${workDir}/upload-state` })))
    return yield* Console.log("\nTour complete.")
  }
  yield* Effect.gen(function*() {
    yield* tour(workDir).pipe(Effect.provide(embeddedClient(workDir)))
    yield* loginStep(workDir)
    yield* Console.log("\nTour complete.")
  }).pipe(Effect.provide(EmulatorServer.layer({ dataDir: `${workDir}/emulator`, orderStepMillis: 400, oauth: { deviceIntervalSeconds: 1 } })))
}).pipe(Effect.scoped, Effect.provide(NodeContext.layer))

NodeRuntime.runMain(main)
