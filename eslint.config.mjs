// Lint rules for the whole repository: typescript-eslint's type-aware recommendations.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "node_modules/",
      ".tools/",
      ".pulumi-state/",
      ".airlock/",
      "test-results/",
      "registry-server/portal/dist/",
      // What the npm package ships, compiled from the sources linted here (scripts/build-package.sh).
      "dist/",
      "registry-server/dist/",
      // The component package's one-line CommonJS entry, which requires the compiled components.
      "provider/index.js",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: {
          allowDefaultProject: ["eslint.config.mjs", "vitest.config.mts", "scripts/lib/junit-summary.mjs"],
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/require-await": "off",
    },
  },
);
