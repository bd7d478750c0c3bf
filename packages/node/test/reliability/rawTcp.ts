/**
 * What the raw-TCP hostile suites (`hostileDownload`, `hostileUpload`) share: answers written byte for byte on a
 * socket, the broken answers both use, a server that tracks its sockets (closed with the scope, the ones an answer
 * left open included), and the tag of an exit.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as net from "node:net"

/** How a request is answered: raw bytes on the socket, then close or leave it open. */
export type Answer = (socket: net.Socket) => void

/** A response head from its lines. */
export const head = (lines: ReadonlyArray<string>) => `${lines.join("\r\n")}\r\n\r\n`

/** Writes `text` and then `body`, then ends the connection. */
export const send = (text: string, body: string | Buffer = ""): Answer => (socket) => {
  socket.write(text, "latin1")
  socket.end(body)
}

/** Writes `text` one byte per event-loop turn, then `body`, then ends the connection. */
export const byteByByte = (text: string, body: string | Buffer = ""): Answer => (socket) => {
  let i = 0
  const next = () => {
    if (i < text.length) {
      socket.write(text[i++]!, "latin1")
      setImmediate(next)
    } else socket.end(body)
  }
  next()
}

/** A status line, then 200 KiB of headers, never the blank line. */
export const endlessHead = (status: string): Answer => (socket) => {
  socket.write(`${status}\r\n`)
  for (let i = 0; i < 200; i++) socket.write(`X-Filler-${i}: ${"y".repeat(1000)}\r\n`)
}

/** Interim `100 Continue` answers every 50 ms, for ever. */
export const continueForever: Answer = (socket) => {
  const timer = setInterval(() => socket.writable ? socket.write("HTTP/1.1 100 Continue\r\n\r\n") : clearInterval(timer), 50)
  socket.on("close", () => clearInterval(timer))
}

/** No answer; the connection stays open. */
export const silence: Answer = () => {}

/** A reset at once. */
export const reset: Answer = (socket) => {
  socket.resetAndDestroy()
}

/** A server on 127.0.0.1 handing each connection to `onSocket`; closing it (with the scope) drops every connection. */
export const server = (onSocket: (socket: net.Socket, server: net.Server) => void) =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly server: net.Server; readonly sockets: Set<net.Socket> }>((resume) => {
      const sockets = new Set<net.Socket>()
      const srv = net.createServer((socket) => {
        sockets.add(socket)
        socket.on("close", () => sockets.delete(socket))
        socket.on("error", () => {})
        onSocket(socket, srv)
      })
      srv.listen(0, "127.0.0.1", () => resume(Effect.succeed({ url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`, server: srv, sockets })))
    }),
    ({ server: srv, sockets }) =>
      Effect.async<void>((resume) => {
        for (const s of sockets) s.destroy()
        srv.close(() => resume(Effect.void))
      })
  )

/** `success`, the failure's `_tag`, or a description of a defect or interruption. */
export const failureTag = (exit: Exit.Exit<unknown, unknown>): string =>
  Exit.match(exit, {
    onSuccess: () => "success",
    onFailure: (cause) =>
      Option.match(Cause.failureOption(cause), {
        onNone: () => `defect or interruption: ${Cause.pretty(cause).slice(0, 300)}`,
        onSome: (e) => (e as { _tag?: string })._tag ?? String(e)
      })
  })
