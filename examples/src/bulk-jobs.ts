/**
 * Fan a CSV of inputs out as jobs of a service and collect the results:
 * `node examples/dist/bulk-jobs.js INPUTS.csv SERVICE_URN [CONCURRENCY]` (IVCAP v0.44+, `/1/services2`).
 *
 * Each data row of the CSV (header `message`, one value per row, e.g. 10,000 rows) becomes one job of the service;
 * the job's input is checked against the service's tool schema before it is posted. `CONCURRENCY` (default 16)
 * bounds how many jobs are waited for at once — the jobs themselves run on the platform's dispatchers. Each result
 * is recorded as an aspect about the row (`urn:example:csv-row:<file>:<line>`, schema
 * `urn:example:schema:job-result.1`), which makes the pipeline resumable: a row whose result exists is not sent
 * again after a crash.
 */
import { Aspect, Bulk, Job } from "@ivcap/core"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { basename } from "node:path"
import { itemsBar, summary } from "./internal/progress.js"
import { args, required, run } from "./internal/run.js"

const usage = "bulk-jobs INPUTS.csv SERVICE_URN [CONCURRENCY]"
const file = required(0, usage)
const service = required(1, usage)
const concurrency = Number(args[2] ?? 16)
const schema = "urn:example:schema:job-result.1"

interface Row {
  readonly line: number
  readonly message: string
}

/** The row's entity: the file's name and the line number (URN-safe). */
const entityOf = (row: Row) => `urn:example:csv-row:${encodeURIComponent(basename(file)).replace(/%/g, "")}:${row.line}`

/** What the service answers (the echo service: its input). */
const Result = Schema.Struct({ message: Schema.String })

run(
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file)
    // A one-column CSV: a header, then one value per line (quoted values have their quotes removed).
    const rows: Array<Row> = text.split(/\r?\n/).slice(1).flatMap((value, i) =>
      value.trim() === "" ? [] : [{ line: i + 2, message: value.trim().replace(/^"(.*)"$/, "$1").replace(/""/g, "\"") }])
    yield* Console.log(`${rows.length} inputs → jobs of ${service} at concurrency ${concurrency}`)
    const report = yield* Bulk.run(Bulk.fromStream(Stream.fromIterable(rows)), {
      name: `bulk-jobs ${file} ${service}`,
      key: (row) => String(row.line),
      process: (row) =>
        Effect.flatMap(Job.run(service, { message: row.message }, Result), (result) =>
          Aspect.add(entityOf(row), { $schema: schema, line: row.line, input: row.message, result })),
      alreadyDone: (row) => Effect.map(Aspect.page({ entity: entityOf(row), schema, includeContent: false, pageSize: 1 }), (p) => p.items.length > 0),
      concurrency,
      total: rows.length,
      onProgress: itemsBar()
    })
    yield* summary(report)
  })
)
