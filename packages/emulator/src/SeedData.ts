/**
 * The data every fresh (or reset) emulator starts with: one account, a "hello world" service, a service whose
 * parameters cover all seven types, a service whose orders fail, 60 generated services (so listing spans pages),
 * two ready artifacts and two aspects. Ids are fixed, so tests and the demo can refer to them.
 *
 * API v0.44+ (`/1/services2`) also serves five tool services that run as jobs and really compute — {@link echo},
 * {@link slow}, {@link failingJob}, {@link report} and {@link echoMoved} — each with a tool request schema aspect
 * (`urn:sd-core:schema.ai-tool.1`, `content.fn_schema`). They are not in the v0.41 `/1/services` catalogue.
 *
 * @since 0.1.0
 */
import type { JobBehaviour, ParameterDef, ServiceBehaviour, ServiceRec, ToolSpec } from "./internal/model.js"
import { uuidFrom } from "./internal/util.js"

/**
 * The account that owns everything (the emulator has a single principal).
 * @since 0.1.0
 */
export const account = `urn:ivcap:account:${uuidFrom("account:emulator")}`

/**
 * The principal recorded as `asserter` / `retracter` of aspects.
 * @since 0.1.0
 */
export const principal = `urn:ivcap:principal:${uuidFrom("principal:emulator")}`

/**
 * The default policy of records.
 * @since 0.1.0
 */
export const defaultPolicy = "urn:ivcap:policy:ivcap.open.artifact"

/**
 * The bearer token accepted when none is configured (documented dev token).
 * @since 0.1.0
 */
export const defaultToken = "ivcap-emulator-dev-token"

const serviceId = (name: string) => `urn:ivcap:service:${uuidFrom(`service:${name}`)}`

/**
 * A "hello world" service with one mandatory string parameter `msg`; its orders succeed with a `text/plain`
 * product `greeting.txt` containing `Hello, <msg>!`.
 * @since 0.1.0
 */
export const helloWorld = {
  id: serviceId("hello-world-python"),
  name: "hello-world-python",
  parameter: "msg"
} as const

/**
 * A service whose parameters cover all seven types (`string int float bool option artifact collection`), with
 * defaults, units, labels, options, optional, constant and unary flags, and names containing `-`. Its orders
 * succeed with an `application/json` product `fire-risk.json`.
 * @since 0.1.0
 */
export const richService = {
  id: serviceId("fire-risk-map"),
  name: "fire-risk-map"
} as const

/**
 * The parameter definitions of {@link richService}, as served.
 * @since 0.1.0
 */
export const richServiceParameters: ReadonlyArray<ParameterDef> = [
  {
    name: "region",
    type: "string",
    label: "Region name",
    description: "Name of the region to assess, as listed in the national gazetteer"
  },
  {
    name: "threshold",
    type: "float",
    label: "Rainfall threshold",
    unit: "mm",
    default: "12.5",
    description: "Monthly rainfall below which vegetation is considered dry"
  },
  {
    name: "max-iterations",
    type: "int",
    label: "Maximum iterations",
    default: "100",
    description: "Upper bound on simulation steps"
  },
  {
    name: "use-satellite",
    type: "bool",
    label: "Use satellite imagery",
    default: "false",
    optional: true,
    description: "Blend recent satellite imagery into the fuel-load estimate"
  },
  {
    name: "model",
    type: "option",
    label: "Model",
    default: "mcarthur",
    description: "Fire danger model to apply",
    options: [
      { value: "mcarthur", description: "McArthur Forest Fire Danger Index (FFDI)" },
      { value: "afdrs", description: "Australian Fire Danger Rating System" },
      { value: "grassland", description: "Grassland Fire Danger Index (GFDI)" }
    ]
  },
  {
    name: "boundary",
    type: "artifact",
    label: "Boundary polygon",
    optional: true,
    description: "GeoJSON artifact outlining the area of interest"
  },
  {
    name: "weather-stations",
    type: "collection",
    label: "Weather stations",
    optional: true,
    description: "Collection of weather-station observation artifacts"
  },
  {
    name: "api-version",
    type: "string",
    label: "API version",
    default: "2",
    constant: true,
    description: "Version of the model interface (fixed)"
  },
  {
    name: "verbose",
    type: "bool",
    label: "Verbose log",
    optional: true,
    unary: true,
    description: "Emit a detailed processing log"
  }
]

/**
 * A service whose orders always end in `failed` (no products).
 * @since 0.1.0
 */
export const failingService = {
  id: serviceId("always-fails"),
  name: "always-fails"
} as const

/**
 * How many services are seeded in total (3 named + 60 generated).
 * @since 0.1.0
 */
export const serviceCount = 63

/**
 * A seeded, ready, downloadable text artifact.
 * @since 0.1.0
 */
export const readmeArtifact = {
  id: `urn:ivcap:artifact:${uuidFrom("artifact:readme")}`,
  name: "README.md",
  mimeType: "text/markdown",
  content: "# Sample artifact\n\nThis artifact is seeded by the IVCAP emulator.\n"
} as const

/**
 * A seeded, ready JSON artifact (a GeoJSON boundary usable as the `boundary` parameter of {@link richService}).
 * @since 0.1.0
 */
export const boundaryArtifact = {
  id: `urn:ivcap:artifact:${uuidFrom("artifact:boundary")}`,
  name: "blue-mountains-boundary.geojson",
  mimeType: "application/geo+json",
  content: JSON.stringify({
    type: "Feature",
    properties: { name: "Blue Mountains" },
    geometry: {
      type: "Polygon",
      coordinates: [[[150.2, -33.5], [150.6, -33.5], [150.6, -33.8], [150.2, -33.8], [150.2, -33.5]]]
    }
  })
} as const

/**
 * A seeded aspect on {@link readmeArtifact}.
 * @since 0.1.0
 */
export const readmeAspect = {
  id: `urn:ivcap:aspect:${uuidFrom("aspect:readme")}`,
  entity: readmeArtifact.id,
  schema: "urn:ivcap:schema:artifact.1",
  content: { $schema: "urn:ivcap:schema:artifact.1", title: "Sample artifact", keywords: ["sample", "readme"] }
} as const

/**
 * A seeded aspect on {@link boundaryArtifact}.
 * @since 0.1.0
 */
export const boundaryAspect = {
  id: `urn:ivcap:aspect:${uuidFrom("aspect:boundary")}`,
  entity: boundaryArtifact.id,
  schema: "urn:ivcap:schema:artifact.1",
  content: { $schema: "urn:ivcap:schema:artifact.1", title: "Blue Mountains boundary", area: 1420.5 }
} as const

/**
 * The time seeded records were created (2024-07-01T00:00:00.000Z).
 * @since 0.1.0
 */
export const seededAt = Date.UTC(2024, 6, 1)

const jsonProduct = (file: string): ServiceBehaviour => ({
  outcome: "succeeded",
  product: (parameters, orderId) => ({
    name: file,
    mimeType: "application/json",
    content: JSON.stringify({
      order: orderId,
      parameters: Object.fromEntries(parameters.map((p) => [p.name, p.value])),
      result: "ok"
    })
  })
})

const topics = [
  ["soil-moisture", "Soil moisture", "from Sentinel-1 radar backscatter"],
  ["crop-yield", "Crop yield", "for wheat and barley paddocks"],
  ["flood-extent", "Flood extent", "from optical and SAR imagery"],
  ["coral-bleaching", "Coral bleaching", "for Great Barrier Reef survey transects"],
  ["bushfire-spread", "Bushfire spread", "under forecast weather"],
  ["water-quality", "Water quality", "in coastal catchments"],
  ["land-cover", "Land cover", "at 10 m resolution"],
  ["canopy-height", "Canopy height", "from airborne LiDAR"],
  ["koala-habitat", "Koala habitat", "suitability across NSW"],
  ["urban-heat", "Urban heat", "islands from thermal imagery"],
  ["seagrass", "Seagrass", "meadow extent from drone imagery"],
  ["groundwater", "Groundwater", "level trends from bore data"],
  ["solar-potential", "Solar potential", "of rooftops"],
  ["air-quality", "Air quality", "from low-cost sensor networks"],
  ["species-occurrence", "Species occurrence", "from camera-trap images"]
] as const

const kinds = [
  ["estimator", "Estimates"],
  ["mapper", "Maps"],
  ["forecaster", "Forecasts"],
  ["validator", "Validates observations of"]
] as const

const generated = (): Array<Omit<ServiceRec, "seq">> => {
  const out: Array<Omit<ServiceRec, "seq">> = []
  let i = 0
  for (const [kindSlug, kindVerb] of kinds) {
    for (const [slug, title, detail] of topics) {
      const name = `${slug}-${kindSlug}`
      out.push({
        id: serviceId(name),
        name,
        description: `${kindVerb} ${title.toLowerCase()} ${detail}.`,
        account,
        policy: defaultPolicy,
        status: i % 17 === 16 ? "inactive" : "active",
        publishedAt: Date.UTC(2024, 0, 1) + i * 86_400_000 * 3,
        tags: [slug, kindSlug],
        parameters: [
          { name: "area", type: "string", label: "Area of interest", description: "Name or WKT of the area" },
          {
            name: "resolution",
            type: "float",
            unit: "m",
            default: "30",
            label: "Resolution",
            description: "Output grid resolution"
          }
        ],
        behaviour: jsonProduct(`${slug}.json`)
      })
      i++
    }
  }
  return out
}

/** @internal the seeded services, in seeding order. */
export const services = (): ReadonlyArray<Omit<ServiceRec, "seq">> => [
  {
    id: helloWorld.id,
    name: helloWorld.name,
    description: "Returns a friendly greeting for the message you send it.",
    account,
    policy: defaultPolicy,
    status: "active",
    publishedAt: Date.UTC(2023, 10, 1),
    tags: ["demo", "python"],
    parameters: [{ name: "msg", type: "string", label: "Message", description: "Message to echo" }],
    behaviour: {
      outcome: "succeeded",
      product: (parameters) => ({
        name: "greeting.txt",
        mimeType: "text/plain",
        content: `Hello, ${parameters.find((p) => p.name === "msg")?.value ?? "world"}!\n`
      })
    }
  },
  {
    id: richService.id,
    name: richService.name,
    description: "Computes a fire-danger map for a region from rainfall, fuel load and weather observations.",
    account,
    policy: defaultPolicy,
    banner: `urn:ivcap:artifact:${uuidFrom("artifact:banner")}`,
    status: "active",
    publishedAt: Date.UTC(2024, 2, 15),
    tags: ["fire", "risk", "map"],
    parameters: richServiceParameters,
    behaviour: jsonProduct("fire-risk.json")
  },
  {
    id: failingService.id,
    name: failingService.name,
    description: "A service whose orders always fail (for testing error paths).",
    account,
    policy: defaultPolicy,
    status: "active",
    publishedAt: Date.UTC(2024, 5, 1),
    parameters: [
      { name: "reason", type: "string", optional: true, default: "simulated failure", description: "Why it fails" }
    ],
    behaviour: { outcome: "failed" }
  },
  ...generated()
]

/**
 * The schema of tool request aspects (the newest Python client reads `content.fn_schema` of the one aspect with this
 * schema on a service as the service's request model).
 * @since 0.2.0
 */
export const toolSchema = "urn:sd-core:schema.ai-tool.1"

const tool = (name: string, description: string, fnSchema: Record<string, unknown>): ToolSpec => ({
  name,
  description,
  fnSchema: { $schema: "http://json-schema.org/draft-07/schema#", title: name, ...fnSchema }
})

/**
 * Echo: the job's result is its input, unchanged. Input: an object with a string `message` (required) and any
 * other keys. Finishes right after it starts.
 * @since 0.2.0
 */
export const echo = {
  id: serviceId("echo"),
  name: "echo",
  toolAspectId: `urn:ivcap:aspect:${uuidFrom("aspect:tool:echo")}`
} as const

/**
 * Slow: sleeps `seconds` (0..3600, on the emulator clock, so tests advance the clock instead of waiting), emitting one
 * progress event per second, then returns `{ message, slept }`.
 * @since 0.2.0
 */
export const slow = {
  id: serviceId("slow"),
  name: "slow",
  toolAspectId: `urn:ivcap:aspect:${uuidFrom("aspect:tool:slow")}`
} as const

/**
 * Failing: every job fails (status `failed`) with `error-message` = the input's `reason` (default
 * "simulated failure"), after `seconds` (default 0) of execution.
 * @since 0.2.0
 */
export const failingJob = {
  id: serviceId("failing-job"),
  name: "failing-job",
  toolAspectId: `urn:ivcap:aspect:${uuidFrom("aspect:tool:failing-job")}`,
  defaultReason: "simulated failure"
} as const

/**
 * Report: writes a Markdown artifact `report.md` from `title` and `lines` (a product of the job) and returns
 * `{ artifact, name, mime-type, size }` with the artifact's URN.
 * @since 0.2.0
 */
export const report = {
  id: serviceId("report"),
  name: "report",
  toolAspectId: `urn:ivcap:aspect:${uuidFrom("aspect:tool:report")}`
} as const

/**
 * A service that moved: a job request to it is answered 307 with `Location` = the job endpoint of {@link echo}
 * (re-send the same POST there). Reading it, listing its jobs and its tool aspect work as for any service.
 * @since 0.2.0
 */
export const echoMoved = {
  id: serviceId("echo-moved"),
  name: "echo-moved",
  toolAspectId: `urn:ivcap:aspect:${uuidFrom("aspect:tool:echo-moved")}`
} as const

/**
 * How many services `/1/services2` lists: the {@link serviceCount} v0.41 services plus the five tool services.
 * @since 0.2.0
 */
export const services2Count = serviceCount + 5

const echoTool = tool("echo", "Returns its input unchanged.", {
  type: "object",
  properties: { message: { type: "string", description: "Anything to echo back" } },
  required: ["message"]
})

const runEcho: JobBehaviour = (input) => ({ runMillis: 0, outcome: "succeeded", result: input })

const numberOr = (input: unknown, key: string, fallback: number): number => {
  const v = typeof input === "object" && input !== null ? (input as Record<string, unknown>)[key] : undefined
  return typeof v === "number" ? v : fallback
}
const stringOr = (input: unknown, key: string, fallback: string): string => {
  const v = typeof input === "object" && input !== null ? (input as Record<string, unknown>)[key] : undefined
  return typeof v === "string" ? v : fallback
}

const restController = (image: string) => ({
  $schema: "urn:ivcap:schema.service.rest.1",
  image: `ghcr.io/ivcap-works/emulator-${image}:latest`,
  command: ["python", "/app/tool-service.py"],
  port: 8090,
  "ready-url": "/_healtz"
})

const toolService = (
  ids: { readonly id: string; readonly name: string },
  description: string,
  spec: ToolSpec,
  job: JobBehaviour,
  extra: Partial<Omit<ServiceRec, "seq">> = {}
): Omit<ServiceRec, "seq"> => ({
  id: ids.id,
  name: ids.name,
  description,
  account,
  policy: defaultPolicy,
  status: "active",
  publishedAt: Date.UTC(2025, 6, 1),
  tags: ["tool", "emulator"],
  parameters: [],
  behaviour: { outcome: "succeeded" },
  v2Only: true,
  controllerSchema: "urn:ivcap:schema.service.rest.1",
  controller: restController(ids.name),
  tool: spec,
  job,
  ...extra
})

/** @internal the seeded v0.44+ tool services, in seeding order. */
export const toolServices = (): ReadonlyArray<Omit<ServiceRec, "seq">> => [
  toolService(echo, "Returns its input unchanged (result = request).", echoTool, runEcho),
  toolService(
    slow,
    "Sleeps for the requested number of seconds, reporting progress every second.",
    tool("slow", "Sleeps `seconds`, then returns.", {
      type: "object",
      properties: {
        seconds: { type: "number", minimum: 0, maximum: 3600, description: "How long to run" },
        message: { type: "string", description: "Returned when done" }
      },
      required: ["seconds"]
    }),
    (input) => {
      const seconds = numberOr(input, "seconds", 0)
      return {
        runMillis: Math.round(seconds * 1000),
        outcome: "succeeded",
        progressSteps: Math.max(0, Math.ceil(seconds) - 1),
        result: { message: stringOr(input, "message", "done"), slept: seconds }
      }
    }
  ),
  toolService(
    failingJob,
    "Always fails, with the reason you give it (for testing error paths).",
    tool("failing-job", "Fails with `reason` after `seconds`.", {
      type: "object",
      properties: {
        reason: { type: "string", description: "The error message the job fails with" },
        seconds: { type: "number", minimum: 0, maximum: 3600, description: "How long to run before failing" }
      }
    }),
    (input) => ({
      runMillis: Math.round(numberOr(input, "seconds", 0) * 1000),
      outcome: "failed",
      errorMessage: stringOr(input, "reason", failingJob.defaultReason)
    })
  ),
  toolService(
    report,
    "Writes a Markdown report artifact from a title and lines of text.",
    tool("report", "Creates the artifact `report.md`.", {
      type: "object",
      properties: {
        title: { type: "string", minLength: 1, description: "Report title" },
        lines: { type: "array", items: { type: "string" }, description: "Lines of the report body" }
      },
      required: ["title"]
    }),
    (input, ids) => {
      const lines = typeof input === "object" && input !== null && Array.isArray((input as { lines?: unknown }).lines)
        ? ((input as { lines: Array<unknown> }).lines.filter((l) => typeof l === "string") as Array<string>)
        : []
      const content = `# ${stringOr(input, "title", "Report")}\n\n${lines.map((l) => `${l}\n`).join("")}`
      return {
        runMillis: 500,
        outcome: "succeeded",
        product: { name: "report.md", mimeType: "text/markdown", content },
        result: {
          artifact: ids.productId,
          name: "report.md",
          "mime-type": "text/markdown",
          size: new TextEncoder().encode(content).length
        }
      }
    }
  ),
  toolService(echoMoved, "Moved: job requests are redirected (307) to the echo service.", echoTool, runEcho, {
    redirectTo: echo.id
  })
]

/** @internal the tool request schema aspects of the tool services. */
export const toolAspects = (): ReadonlyArray<{
  readonly id: string
  readonly entity: string
  readonly schema: string
  readonly content: Record<string, unknown>
}> =>
  [echo, slow, failingJob, report, echoMoved].map((s) => {
    const spec = toolServices().find((t) => t.id === s.id)!.tool!
    return {
      id: s.toolAspectId,
      entity: s.id,
      schema: toolSchema,
      // shape as written by IVCAP tool services (inferred): `$schema`, `name`, `description`, `fn_schema`
      content: { $schema: toolSchema, $entity: s.id, name: spec.name, description: spec.description, fn_schema: spec.fnSchema }
    }
  })
