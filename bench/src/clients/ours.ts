/**
 * The SDK as a Node user gets it: the one-line `@ivcap/node` layer, pointed at the deployment under test.
 * (The driver sets `IVCAP_UPLOAD_STATE_DIR` to a temp folder, so resumable-upload state never lands in $HOME.)
 */
import { IvcapNode } from "@ivcap/node"
import { deployment } from "./common.js"

/** `IvcapNode.layer` for `IVCAP_URL` / `IVCAP_JWT`. */
export const oursLayer = () => {
  const { token, url } = deployment()
  return IvcapNode.layer({ url, token })
}
