/**
 * The URL of an artifact's content. `data-href` is an absolute URL (wire doc §3.7) that may name an internal host
 * instead of the one the client was configured with (the newer Python client's `fix_data_ref`, wire doc §12):
 * such a URL is replaced by the configured base URL + the href's path and query, so content requests — and the
 * token — always go to the configured deployment. (`IvcapClient.httpClient` would not send the token to another
 * origin anyway; this keeps the request working as well as safe.) Only `http:` and `https:` URLs are used; any other
 * scheme (`javascript:`, `file:`, `data:`) is an `InvalidArgument`.
 */
import * as Effect from "effect/Effect"
import { IvcapClient, type IvcapClientService } from "../IvcapClient.js"
import { InvalidArgument } from "../IvcapError.js"

/** The URL to use for a `data-href` (or any content URL), on the configured origin. */
export const contentUrl = (client: IvcapClientService, href: string): Effect.Effect<string, InvalidArgument> => {
  if (client.isOwnOrigin(href)) return Effect.succeed(client.resolve(href))
  let url: URL
  try {
    url = new URL(href)
  } catch {
    return Effect.fail(new InvalidArgument({ argument: "data-href", message: `not a URL: ${JSON.stringify(href)}` }))
  }
  // only http(s): a javascript:, file: or data: href is refused, never mapped onto a path of the deployment
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return Effect.fail(new InvalidArgument({ argument: "data-href", message: `only http(s) content URLs are followed, got ${JSON.stringify(url.protocol)} in ${JSON.stringify(href.slice(0, 200))}` }))
  }
  return Effect.as(
    Effect.logDebug(`data-href names another host (${url.host}); using the configured deployment with its path`),
    client.resolve(`${url.pathname}${url.search}`)
  )
}

/**
 * The content URL of an artifact record, on the configured origin — the one place downloads and uploads get it.
 * A record without `data-href` has no content to read or receive: `InvalidArgument` naming the artifact.
 */
export const contentUrlOf = (
  artifact: { readonly id: string; readonly dataHref?: string | undefined }
): Effect.Effect<string, InvalidArgument, IvcapClient> =>
  Effect.flatMap(IvcapClient, (client) =>
    artifact.dataHref === undefined
      ? Effect.fail(new InvalidArgument({ argument: "artifact", message: `artifact ${artifact.id} has no data-href: it has no content to read or receive` }))
      : contentUrl(client, artifact.dataHref))
