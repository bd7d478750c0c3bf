/**
 * Small platform-free helpers: time formatting, ids, base64, real-time sleeping.
 *
 * The emulator never uses Effect's `Clock` (tests run under `TestClock`, which would freeze a server that sleeps):
 * time is `Date.now()` plus the emulator's offset, and waits use real timers.
 */
import * as Effect from "effect/Effect"

/** RFC 3339 with milliseconds and `Z`, as the wire wants. */
export const formatTime = (millis: number): string => new Date(millis).toISOString()

const rfc3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/

/** Parses an RFC 3339 `date-time`; `undefined` when malformed. */
export const parseTime = (s: string): number | undefined => {
  if (!rfc3339.test(s)) return undefined
  const t = Date.parse(s)
  return Number.isFinite(t) ? t : undefined
}

/** Sleeps for real (not on Effect's Clock); interruptible. */
export const realSleep = (millis: number): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const handle = setTimeout(() => resume(Effect.void), Math.max(0, millis))
    return Effect.sync(() => clearTimeout(handle))
  })

/** A random version-4 UUID (Web Crypto when available). */
export const randomUuid = (): string => {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto
  if (c?.randomUUID) return c.randomUUID()
  const hex = Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16))
  hex[12] = "4"
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)
  const s = hex.join("")
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`
}

/** A deterministic UUID-shaped string derived from `seed` (FNV-1a based; for seeded data only). */
export const uuidFrom = (seed: string): string => {
  let out = ""
  for (let round = 0; round < 4; round++) {
    let h = 0x811c9dc5 ^ (round * 0x9e3779b9)
    for (let i = 0; i < seed.length; i++) {
      h ^= seed.charCodeAt(i)
      h = Math.imul(h, 0x01000193)
    }
    out += (h >>> 0).toString(16).padStart(8, "0")
  }
  const v = ((parseInt(out[16]!, 16) & 0x3) | 0x8).toString(16)
  return `${out.slice(0, 8)}-${out.slice(8, 12)}-4${out.slice(13, 16)}-${v}${out.slice(17, 20)}-${out.slice(20, 32)}`
}

const b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

/** Standard base64 of bytes. */
export const bytesToBase64 = (bytes: Uint8Array): string => {
  let out = ""
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!
    const b = bytes[i + 1]
    const c = bytes[i + 2]
    out += b64chars[a >> 2]! + b64chars[((a & 3) << 4) | ((b ?? 0) >> 4)]!
    out += b === undefined ? "=" : b64chars[((b & 15) << 2) | ((c ?? 0) >> 6)]!
    out += c === undefined ? "=" : b64chars[c & 63]!
  }
  return out
}

/** Decodes standard or URL-safe base64 (padding optional); `undefined` when malformed. */
export const base64ToBytes = (input: string): Uint8Array | undefined => {
  const s = input.trim().replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "")
  if (!/^[A-Za-z0-9+/]*$/.test(s) || s.length % 4 === 1) return undefined
  const out = new Uint8Array(Math.floor((s.length * 3) / 4))
  let o = 0
  for (let i = 0; i < s.length; i += 4) {
    const n = [0, 1, 2, 3].map((k) => (i + k < s.length ? b64chars.indexOf(s[i + k]!) : 0))
    const triple = (n[0]! << 18) | (n[1]! << 12) | (n[2]! << 6) | n[3]!
    if (o < out.length) out[o++] = (triple >> 16) & 255
    if (o < out.length) out[o++] = (triple >> 8) & 255
    if (o < out.length) out[o++] = triple & 255
  }
  return out
}

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true })

/** UTF-8 bytes of a string. */
export const utf8 = (s: string): Uint8Array => encoder.encode(s)

/** Decodes UTF-8 strictly; `undefined` when invalid. */
export const fromUtf8 = (bytes: Uint8Array): string | undefined => {
  try {
    return decoder.decode(bytes)
  } catch {
    return undefined
  }
}

/** URL-safe base64 (no padding) of a UTF-8 string: page tokens. */
export const base64UrlEncode = (s: string): string =>
  bytesToBase64(utf8(s)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")

/** Inverse of {@link base64UrlEncode}; `undefined` when malformed. */
export const base64UrlDecode = (s: string): string | undefined => {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) return undefined
  const bytes = base64ToBytes(s)
  return bytes === undefined ? undefined : fromUtf8(bytes)
}

/** A JSON object (not array, not null). */
export const isJsonObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** The deepest nesting of JSON content the emulator stores (objects and arrays; the SDK refuses deeper content). */
export const maxContentDepth = 256

/** Whether a parsed JSON value nests deeper than `max` levels (iterative: no stack to overflow). */
export const nestsDeeperThan = (value: unknown, max: number): boolean => {
  const stack: Array<[unknown, number]> = [[value, 1]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!
    if (typeof v !== "object" || v === null) continue
    if (depth > max) return true
    for (const child of Object.values(v)) if (typeof child === "object" && child !== null) stack.push([child, depth + 1])
  }
  return false
}
