/**
 * Secrets: set one (its value from the SECRET_VALUE environment variable, never printed), list the account's secret
 * names, read it back and show a short hash — as the CLI's `ivcap secret set` does.
 * `SECRET_VALUE=… node examples/dist/use-secret.js NAME`.
 */
import { Secret } from "@ivcap/node"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as DateTime from "effect/DateTime"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import { required, run } from "./internal/run.js"

const name = required(0, "SECRET_VALUE=… use-secret NAME")

run(
  Effect.gen(function*() {
    const value = yield* Config.redacted("SECRET_VALUE")
    yield* Secret.set(name, value, { expiresIn: "30 days" })
    yield* Console.log(`set ${name}: ${value}`) // a Redacted prints as <redacted>
    yield* Secret.list().pipe(
      Stream.runForEach((s) =>
        Console.log(`  ${s.name}  expires ${Option.match(s.expiresAt, { onNone: () => "never", onSome: DateTime.formatIso })}`)
      )
    )
    const secret = yield* Secret.get(name)
    const hash = createHash("sha256").update(Redacted.value(secret.value)).digest("hex").slice(0, 10)
    yield* Console.log(`read ${secret.name}: sha256 ${hash}…, ${Redacted.value(secret.value).length} characters`)
  })
)
