/**
 * Content types guessed from file names, for uploads whose caller gives none (the Python client guesses with
 * `mimetypes.guess_type`; this table covers the types IVCAP artifacts commonly have).
 */

const byExtension: Readonly<Record<string, string>> = {
  avif: "image/avif",
  bmp: "image/bmp",
  csv: "text/csv",
  geojson: "application/geo+json",
  gif: "image/gif",
  gz: "application/gzip",
  htm: "text/html",
  html: "text/html",
  jpeg: "image/jpeg",
  jpg: "image/jpeg",
  js: "text/javascript",
  json: "application/json",
  jsonld: "application/ld+json",
  md: "text/markdown",
  mp3: "audio/mpeg",
  mp4: "video/mp4",
  nc: "application/x-netcdf",
  parquet: "application/vnd.apache.parquet",
  pdf: "application/pdf",
  png: "image/png",
  svg: "image/svg+xml",
  tar: "application/x-tar",
  tif: "image/tiff",
  tiff: "image/tiff",
  tsv: "text/tab-separated-values",
  txt: "text/plain",
  wav: "audio/wav",
  webp: "image/webp",
  xml: "application/xml",
  yaml: "application/yaml",
  yml: "application/yaml",
  zip: "application/zip"
}

/** The type of content that has no better description. */
export const defaultContentType = "application/octet-stream"

/** The content type of a file name's extension (case-insensitive), if known. */
export const guessContentType = (name: string): string | undefined => {
  const dot = name.lastIndexOf(".")
  if (dot < 0 || dot === name.length - 1) return undefined
  return byExtension[name.slice(dot + 1).toLowerCase()]
}
