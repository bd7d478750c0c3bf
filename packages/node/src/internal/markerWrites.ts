/**
 * The marker writes `uploadFile` leaves running after it returns (`Marker.layerBackground`): forked into a scope that
 * outlives the calls, the latest of each file remembered (a later one waits for the one before), at most `limit` at
 * once.
 */
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"

/** The marker writes in flight, by absolute file path. */
export class MarkerWrites {
  private readonly fibers = new Map<string, Fiber.RuntimeFiber<void>>()
  constructor(private readonly scope: Scope.Scope, readonly limit: number, readonly yieldAbove: number) {}

  /** Whether another write may be left running (fewer than `limit` are). */
  get hasRoom(): boolean {
    return this.fibers.size < this.limit
  }

  /**
   * Forks `write` for `file` into the writes' scope, after the write of `file` in flight (if any): the last write of
   * a file comes last, and each is waited for. It is forgotten once it ends.
   */
  fork<R>(file: string, write: Effect.Effect<void, never, R>): Effect.Effect<void, never, R> {
    const previous = this.fibers.get(file)
    const after = previous === undefined ? write : Effect.zipRight(Fiber.await(previous), write)
    return Effect.map(Effect.forkIn(after, this.scope), (fiber) => {
      this.fibers.set(file, fiber)
      fiber.addObserver(() => {
        if (this.fibers.get(file) === fiber) this.fibers.delete(file)
      })
    })
  }

  /** Waits for the write of `file` in flight, if any (never fails). */
  settled(file: string): Effect.Effect<void> {
    const fiber = this.fibers.get(file)
    return fiber === undefined ? Effect.void : Effect.asVoid(Fiber.await(fiber))
  }

  /** Waits for every write in flight. */
  get all(): Effect.Effect<void> {
    return Effect.asVoid(Fiber.awaitAll([...this.fibers.values()]))
  }
}
