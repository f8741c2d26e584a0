import { defineConfig } from "vitest/config";
import projects from "./vitest.workspace.ts";

export default defineConfig({
  test: {
    projects,
    // Two cores: more workers only contend for them.
    maxWorkers: 2,
  },
});
