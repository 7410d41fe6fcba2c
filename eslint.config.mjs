// ESLint for Tactful's JavaScript: the browser sources, the demo shop's script, the Node runners.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["browser/generated/**", "node_modules/**", "build/**", ".tactful/**", "dist/**", ".venv/**"] },
  js.configs.recommended,
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: { ...globals.browser } },
    rules: {
      // Small named parts: a longer function needs a reason (an eslint-disable comment with `--`).
      "max-lines-per-function": ["error", { max: 60, skipBlankLines: true, skipComments: true }],
      // Every message switch has a default that warns.
      "default-case": "error",
      "no-unused-vars": ["error", { args: "none", caughtErrors: "none" }],
      eqeqeq: ["error", "smart"],
    },
  },
  { files: ["browser/**"], rules: { "no-var": "error", "prefer-const": "error" },
    // A compile-time constant (esbuild --define): true in `tactful build --test` bundles only.
    languageOptions: { globals: { TACTFUL_TEST_BUILD: "readonly" } } },
  { files: ["browser/worker/**"], languageOptions: { globals: { ...globals.worker } } },
  { files: ["tests/**/*.mjs", "bench/**/*.mjs", "engine/**/*.mjs", "eslint.config.mjs"],
    languageOptions: { globals: { ...globals.node } } },
  // The shops' own scripts, written as a site owner would (classic scripts, the `tactful` stub).
  {
    files: ["demo/site/**/*.js", "tests/e2e/site/**/*.js"],
    languageOptions: { sourceType: "script", globals: { ...globals.browser, tactful: "readonly" } },
  },
];
