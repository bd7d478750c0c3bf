/** List orders, newest first: `node examples/dist/list-orders.js [COUNT]`. */
import { Order } from "@ivcap/core"
import * as Console from "effect/Console"
import * as DateTime from "effect/DateTime"
import * as Stream from "effect/Stream"
import { args, run } from "./internal/run.js"

run(
  Order.list({ orderDirection: "DESC" }).pipe(
    Stream.take(Number(args[0] ?? 10)),
    Stream.runForEach((o) =>
      Console.log(`${o.id}  ${o.status.padEnd(9)}  ${o.orderedAt ? DateTime.formatIso(o.orderedAt) : ""}  ${o.name ?? ""}`))
  )
)
