// Lint, including the dependency rules of DESIGN.md ("Rules of the house", rule 1): each folder
// under src/ may import only the folders listed for it below; anything else fails the build.
import tseslint from "typescript-eslint";

/** Which of our folders each folder may import (itself always allowed). */
const allowedImports = {
  core: [],
  protocol: ["core"],
  scheduler: ["core"],
  store: ["core"],
  control: ["core", "protocol", "store", "scheduler"],
  api: ["core", "protocol", "control", "store", "scheduler"],
  registry: ["core", "api", "store"],
  images: ["core"],
  runtime: ["core"],
  network: ["core"],
  endpoints: ["core", "protocol"],
  lb: ["core", "protocol"],
  agent: ["core", "protocol", "images", "runtime", "network", "endpoints", "lb"],
  cli: null, // the wiring place: may import everything
};
const folders = Object.keys(allowedImports);

const boundaryRules = folders
  .filter((folder) => allowedImports[folder] !== null)
  .map((folder) => {
    const forbidden = folders.filter((other) => other !== folder && !allowedImports[folder].includes(other));
    return {
      files: [`src/${folder}/**/*.ts`],
      rules: {
        "no-restricted-imports": [
          "error",
          {
            patterns: forbidden.map((other) => ({
              group: [`**/${other}/*`, `**/${other}`, `../${other}/**`],
              message: `src/${folder} may not import src/${other} (DESIGN.md, rule 1; allowed: ${allowedImports[folder].join(", ") || "nothing"}).`,
            })),
          },
        ],
      },
    };
  });

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "bin/**"] },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "no-console": "error",
    },
  },
  // Promises nobody awaits or catches: a rejection there crashes the process or vanishes, and a
  // promise handed where a callback's result is ignored (an event listener, a timer) does the same.
  // These rules need the types, so the TypeScript files are linted with tsconfig.json's program.
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // node:test's test() and describe() return promises the runner itself awaits.
      "@typescript-eslint/no-floating-promises": [
        "error",
        {
          allowForKnownSafeCalls: [
            { from: "package", package: "node:test", name: ["test", "it", "describe", "suite", "before", "after", "beforeEach", "afterEach"] },
          ],
        },
      ],
      "@typescript-eslint/no-misused-promises": "error",
    },
  },
  // DESIGN.md's conventions: a file in src/ stays under 600 lines (tests may be longer).
  {
    files: ["src/**/*.ts"],
    ignores: ["src/**/*.test.ts"],
    rules: {
      "max-lines": ["error", { max: 600, skipBlankLines: false, skipComments: false }],
      // A longer function needs a reason, given where it is (eslint-disable-next-line … -- why).
      "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true }],
    },
  },
  { files: ["src/cli/**/*.ts", "bench/**/*.ts", "test/**/*.ts", "scripts/**"], rules: { "no-console": "off" } },
  ...boundaryRules,
);
