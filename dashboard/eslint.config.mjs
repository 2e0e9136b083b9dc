// ESLint for the dashboard's classic browser scripts (flat config). Run: node_modules/.bin/eslint .
// tests/test_dashboard_lint.py runs it (and tsc) as part of the test suite.
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/**"] },
  js.configs.recommended,
  {
    files: ["js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      // Classic <script defer> files: mosquitto's http_dir sends no Content-Type, so no ES modules.
      sourceType: "script",
      globals: { ...globals.browser },
    },
    rules: {
      strict: ["error", "function"],
      "no-unused-vars": ["error", { args: "after-used", argsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_" }],
      "no-var": "error",
      "prefer-const": "error",
      eqeqeq: ["error", "always"],
      "no-implicit-globals": "error",
      "no-shadow": "error",
      "no-console": ["error", { allow: ["warn", "error"] }],
      curly: ["error", "multi-line"],
    },
  },
  {
    files: ["eslint.config.mjs"],
    languageOptions: { sourceType: "module", globals: { ...globals.node } },
  },
];
