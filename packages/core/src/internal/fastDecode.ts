/**
 * A faster way through a Schema's decoder for the values that decode: the schema's AST compiled once into plain
 * closures that return the decoded value, or one of two markers — {@link rejected} (the schema's own decoder would
 * fail too) and {@link unsure} (this compiler does not know). A caller decodes with the schema's own decoder
 * whenever the answer is a marker, so a failure is always the schema's own `ParseError`, naming the field.
 *
 * Why: Effect's decoder interprets the AST with an `Either`, an issue path and an output object per node; for a
 * listed page of 50 aspects that was the largest single share of the client's CPU (BENCHMARKS.md, "Listing: decoding
 * through compiled closures").
 *
 * What makes it safe: every closure calls the same functions the schema's decoder calls — refinement filters,
 * transformation and declaration functions, with the same options — and mirrors what `ParseResult` does around
 * them (effect 3.22: `go` in ParseResult.ts), node by node, for the nodes it knows: keywords, literals, structs
 * without index signatures, arrays, refinements, transformations, declarations and unions. Any other node (an index
 * signature, a tuple, a template literal, `Suspend`, a node with `parseOptions` or `decodingFallback` annotations)
 * is decoded with the schema's own decoder for that node. A function that answers with an `Effect` rather than an
 * `Either` (asynchronous, or needing a service) makes the answer {@link unsure}. A union's answer is a member's value
 * only when exactly one member accepts the input and every other one rejects it; otherwise the order of
 * `ParseResult`'s candidates would decide, and the answer is {@link unsure}.
 *
 * `test/fastDecode.test.ts` checks the equivalence on every Schema the SDK exports, with inputs generated from the
 * schemas and broken on purpose; it fails if a new `effect` changes what `ParseResult` accepts for them.
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as AST from "effect/SchemaAST"

/** The schema's decoder would fail on this input. */
export const rejected: unique symbol = Symbol.for("@ivcap/core/fastDecode/rejected")
/** This compiler cannot tell; decode with the schema's own decoder. */
export const unsure: unique symbol = Symbol.for("@ivcap/core/fastDecode/unsure")

/** A compiled decoder: the decoded value, or a marker. */
export type Decode = (input: unknown) => unknown

/** The options `Schema.decodeUnknown(schema, { onExcessProperty: "ignore" })` hands to every node. */
const options: AST.ParseOptions = { onExcessProperty: "ignore", isEffectAllowed: true } as AST.ParseOptions

const hasOwn = (o: object, key: PropertyKey): boolean => Object.prototype.hasOwnProperty.call(o, key)

const isMarker = (u: unknown): u is typeof rejected | typeof unsure => u === rejected || u === unsure

/** The value of a function's `Either` answer; `rejected` for a `Left`, `unsure` for an `Effect`. */
const fromResult = (result: unknown): unknown => {
  if (!Either.isEither(result)) return unsure
  return Either.isRight(result) ? result.right : rejected
}

/** The schema's own decoder for one node (what every node this compiler does not know gets). */
const delegate = (ast: AST.AST): Decode => {
  const decode = ParseResult.decodeUnknown(Schema.make(ast), options)
  return (input) => fromResult(decode(input))
}

/**
 * `schema`'s decoder with the compiled one first: its value when it has one, else what `orElse` (the schema's own
 * decoder, with the caller's error) makes of the same arguments.
 */
export const withFallback = <A, I, R, Rest extends ReadonlyArray<unknown>, E, R2>(
  schema: Schema.Schema<A, I, R>,
  orElse: (input: unknown, ...rest: Rest) => Effect.Effect<A, E, R2>
): (input: unknown, ...rest: Rest) => Effect.Effect<A, E, R2> => {
  const fast = compile(schema.ast)
  return (input, ...rest) => {
    const decoded = fast(input)
    return isMarker(decoded) ? orElse(input, ...rest) : Effect.succeed(decoded as A)
  }
}

const check = (predicate: (u: unknown) => boolean): Decode => (input) => (predicate(input) ? input : rejected)

const compiled = new WeakMap<AST.AST, Decode>()

/** Compiles `ast` for decoding (memoised per node, as `ParseResult` memoises its parsers). */
export const compile = (ast: AST.AST): Decode => {
  const known = compiled.get(ast)
  if (known !== undefined) return known
  // (No node is reached from itself while it is compiled: `Suspend`, the only way to a cycle, is delegated.)
  const decode = Option.isSome(AST.getParseOptionsAnnotation(ast)) || Option.isSome(AST.getDecodingFallbackAnnotation(ast))
    ? delegate(ast)
    : build(ast)
  compiled.set(ast, decode)
  return decode
}

const build = (ast: AST.AST): Decode => {
  switch (ast._tag) {
    case "StringKeyword":
      return check((u) => typeof u === "string")
    case "NumberKeyword":
      return check((u) => typeof u === "number")
    case "BooleanKeyword":
      return check((u) => typeof u === "boolean")
    case "UndefinedKeyword":
      return check((u) => u === undefined)
    case "UnknownKeyword":
    case "AnyKeyword":
      return (input) => input
    case "Literal": {
      const literal = ast.literal
      return check((u) => u === literal)
    }
    case "Refinement": {
      const from = compile(ast.from)
      return (input) => {
        const a = from(input)
        if (isMarker(a)) return a
        return Option.isNone(ast.filter(a, options, ast)) ? a : rejected
      }
    }
    case "Transformation":
      return transformation(ast)
    case "Declaration": {
      const parse = ast.decodeUnknown(...ast.typeParameters)
      return (input) => fromResult(parse(input, options, ast))
    }
    case "TypeLiteral":
      return ast.indexSignatures.length > 0 || ast.propertySignatures.length === 0 ? delegate(ast) : struct(ast)
    case "TupleType":
      return ast.elements.length === 0 && ast.rest.length === 1 ? array(compile(ast.rest[0]!.type)) : delegate(ast)
    case "Union":
      return union(ast.types.map(compile))
    default:
      return delegate(ast)
  }
}

/** A struct without index signatures (ParseResult's `TypeLiteral`, excess properties ignored). */
const struct = (ast: AST.TypeLiteral): Decode => {
  const fields = ast.propertySignatures.map((ps) => ({ name: ps.name, isOptional: ps.isOptional, decode: compile(ps.type) }))
  return (input) => {
    if (typeof input !== "object" || input === null || Array.isArray(input)) return rejected
    const output: Record<PropertyKey, unknown> = {}
    for (const field of fields) {
      const present = hasOwn(input, field.name)
      if (!present && field.isOptional) continue
      const value = field.decode((input as Record<PropertyKey, unknown>)[field.name])
      if (isMarker(value)) return value
      output[field.name] = value
    }
    return output
  }
}

/** `Schema.Array(item)` (a tuple with only a rest element). */
const array = (item: Decode): Decode => (input) => {
  if (!Array.isArray(input)) return rejected
  const output = new Array<unknown>(input.length)
  for (let i = 0; i < input.length; i++) {
    const value = item(input[i])
    if (isMarker(value)) return value
    output[i] = value
  }
  return output
}

/** A union: the value of its only member that accepts the input, when every other member rejects it. */
const union = (members: ReadonlyArray<Decode>): Decode => (input) => {
  let found: unknown = rejected
  for (const member of members) {
    const value = member(input)
    if (value === rejected) continue
    if (value === unsure || found !== rejected) return unsure
    found = value
  }
  return found
}

const transformation = (ast: AST.Transformation): Decode => {
  const from = compile(ast.from)
  const to = compile(ast.to)
  const kind = ast.transformation
  switch (kind._tag) {
    case "ComposeTransformation":
      return (input) => {
        const a = from(input)
        return isMarker(a) ? a : to(a)
      }
    case "FinalTransformation":
      return (input) => {
        const a = from(input)
        if (isMarker(a)) return a
        const b = fromResult(kind.decode(a, options, ast, input))
        return isMarker(b) ? b : to(b)
      }
    case "TypeLiteralTransformation":
      return (input) => {
        const a = from(input)
        if (isMarker(a)) return a
        // As ParseResult does: renames on the object the `from` side made (a new one for a struct).
        if (typeof a !== "object" || a === null) return unsure
        const out = a as Record<PropertyKey, unknown>
        for (const pst of kind.propertySignatureTransformations) {
          const o = pst.decode(hasOwn(out, pst.from) ? Option.some(out[pst.from]) : Option.none())
          delete out[pst.from]
          if (Option.isSome(o)) out[pst.to] = o.value
        }
        return to(out)
      }
  }
}
