#!/usr/bin/env node
/**
 * `ivcap-emulator --host 127.0.0.1 --port N [--data-dir D] [--token T] [--order-step-ms N] [--job-step-ms N]
 * [--api-version 0.41|0.48] [--no-seed] [--token-lifetime S] [--device-interval S] [--reject-expired-mid-upload]
 * [--search-max-facts N] [--search-timeout-ms N] [--max-upload-bytes N] [--cors-origin ORIGIN]…`
 *
 * Starts the emulator and prints one line with its URL and token, then the admin URL. The default token is the
 * documented dev token `ivcap-emulator-dev-token` (`SeedData.defaultToken`). The identity provider
 * (`/1/authinfo.yaml`, device login, refresh) issues access tokens valid `--token-lifetime` seconds (default 3600),
 * announces `--device-interval` seconds between device-login polls (default 5), and with
 * `--reject-expired-mid-upload` cuts a tus PATCH whose token expires while its body arrives (401).
 *
 * @since 0.1.0
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Emulator from "./Emulator.js"
import * as EmulatorServer from "./EmulatorServer.js"

const usage = `usage: ivcap-emulator [--host 127.0.0.1] [--port 8080] [--data-dir DIR] [--token TOKEN] \
[--order-step-ms 1000] [--job-step-ms 100] [--api-version 0.41|0.48] [--no-seed] \
[--token-lifetime 3600] [--device-interval 5] [--reject-expired-mid-upload] \
[--search-max-facts 2000000] [--search-timeout-ms 10000] [--max-upload-bytes N] [--cors-origin ORIGIN|*]...`

const parse = (argv: ReadonlyArray<string>): EmulatorServer.Options => {
  const opts: { -readonly [K in keyof EmulatorServer.Options]: EmulatorServer.Options[K] } = {}
  const oauth: { -readonly [K in keyof Emulator.OAuthOptions]: Emulator.OAuthOptions[K] } = {}
  const search: { maxFacts?: number; timeoutMillis?: number } = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? arg.split(/=(.*)/s, 2) : [arg, undefined]
    const value = () => {
      const v = inline ?? argv[++i]
      if (v === undefined) throw new Error(`${flag} needs a value`)
      return v
    }
    const int = (v: string) => {
      if (!/^\d+$/.test(v)) throw new Error(`${flag} needs a non-negative integer, got '${v}'`)
      return Number(v)
    }
    const positive = (n: number) => {
      if (n < 1) throw new Error(`${flag} needs a positive integer`)
      return n
    }
    switch (flag) {
      case "--":
        break
      case "--host":
        opts.host = value()
        break
      case "--port":
        opts.port = int(value())
        break
      case "--data-dir":
        opts.dataDir = value()
        break
      case "--token":
        opts.token = value()
        break
      case "--order-step-ms":
        opts.orderStepMillis = int(value())
        break
      case "--job-step-ms":
        opts.jobStepMillis = int(value())
        break
      case "--api-version": {
        const v = value()
        if (v !== "0.41" && v !== "0.48") throw new Error(`--api-version is 0.41 or 0.48, got '${v}'`)
        opts.apiVersion = v
        break
      }
      case "--no-seed":
        opts.seed = false
        break
      case "--token-lifetime":
        oauth.accessTokenSeconds = positive(int(value()))
        break
      case "--device-interval":
        oauth.deviceIntervalSeconds = int(value())
        break
      case "--reject-expired-mid-upload":
        oauth.rejectExpiredMidUpload = true
        break
      case "--search-max-facts":
        search.maxFacts = positive(int(value()))
        break
      case "--search-timeout-ms":
        search.timeoutMillis = positive(int(value()))
        break
      case "--max-upload-bytes":
        opts.maxUploadBytes = int(value())
        break
      case "--cors-origin":
        opts.corsOrigins = [...(opts.corsOrigins ?? []), value()]
        break
      case "-h":
      case "--help":
        console.log(usage)
        process.exit(0)
        break
      default:
        throw new Error(`unknown argument '${arg}'\n${usage}`)
    }
  }
  if (Object.keys(search).length > 0) opts.searchLimits = search
  return Object.keys(oauth).length > 0 ? { ...opts, oauth } : opts
}

let options: EmulatorServer.Options
try {
  options = parse(process.argv.slice(2))
} catch (e) {
  console.error((e as Error).message)
  process.exit(2)
}

const announce = Layer.effectDiscard(Effect.gen(function*() {
  const { url } = yield* EmulatorServer.EmulatorServer
  const emulator = yield* Emulator.Emulator
  console.log(`IVCAP emulator listening on ${url} (token: ${emulator.token})`)
  console.log(`admin: ${url}/_emulator/health${options.dataDir !== undefined ? ` · data: ${options.dataDir}` : ""}`)
}))

NodeRuntime.runMain(Layer.launch(announce.pipe(Layer.provide(EmulatorServer.layer(options)))))
