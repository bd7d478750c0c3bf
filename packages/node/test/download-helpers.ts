/** Shared by the download tests: the two HTTP clients a download can run on, and a download to a file with them. */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Artifact, IvcapClient, Urn } from "@ivcap/core"
import * as NodeHttp from "@ivcap/node/NodeHttp"
import * as NodeTransfer from "@ivcap/node/NodeTransfer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { quickRetry } from "./upload-helpers.js"

/** The two HTTP clients a download can run on. */
export const transports = [["undici", NodeHttpClient.layerUndici], ["NodeHttp", NodeHttp.layer]] as const

/** `downloadToFile` of `size` bytes at `url/blob` into `target`, over `http`, with a quick retry and the sha256. */
export const downloadWith = (url: string, size: number, target: string, http: (typeof transports)[number][1]) =>
  NodeTransfer.downloadToFile(
    new Artifact.ArtifactDetails({ id: Urn.ArtifactUrn.make("urn:ivcap:artifact:scripted"), status: "ready", links: [], dataHref: `${url}/blob`, size }),
    target,
    { retry: quickRetry, computeSha256: true }
  ).pipe(Effect.provide(IvcapClient.layer({ url, token: "scripted-token", retry: false, timeout: "5 seconds" }).pipe(Layer.provide(http))))
