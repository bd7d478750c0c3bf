// @ts-check
import js from "@eslint/js"
import tseslint from "typescript-eslint"

/** Library rules: deep imports only (tree-shaking), and no Node built-ins in the platform-free core. */
const deepImportsOnly = {
  "no-restricted-imports": ["error", {
    paths: [
      { name: "effect", message: "Use deep imports (effect/Effect) in library code so bundlers can tree-shake." },
      { name: "@effect/platform", message: "Use deep imports (@effect/platform/HttpClient)." },
      { name: "@ivcap/core", message: "Use deep imports (@ivcap/core/Service) so bundlers load only what is used." }
    ],
    patterns: [{ group: ["@effect/schema", "@effect/schema/*"], message: "Use effect/Schema." }]
  }]
}

export default tseslint.config(
  { ignores: ["**/dist/**", "**/build/**", "**/node_modules/**", "**/*.config.ts", "vitest.*.ts", "**/fixtures/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "off",
      "require-yield": "off"
    }
  },
  { files: ["packages/*/src/**/*.ts"], rules: deepImportsOnly },
  {
    files: ["packages/core/src/**/*.ts", "packages/browser/src/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", {
        paths: deepImportsOnly["no-restricted-imports"][1].paths,
        patterns: [
          ...deepImportsOnly["no-restricted-imports"][1].patterns,
          { group: ["node:*", "@effect/platform-node", "@effect/platform-node/*"], message: "This package is platform-free." }
        ]
      }]
    }
  }
)
