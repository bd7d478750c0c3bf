/**
 * The data every fresh (or reset) emulator starts with: one account, a "hello world" service, a service whose
 * parameters cover all seven types, a service whose orders fail, 60 generated services (so listing spans pages),
 * two ready artifacts and two aspects. Ids are fixed, so tests and the demo can refer to them.
 *
 * @since 0.1.0
 */
import type { ParameterDef, ServiceBehaviour, ServiceRec } from "./internal/model.js"
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
