// The dashboard's build and dev-server settings (Node side; the browser gets only VITE_*).
import { createEnv } from "@t3-oss/env-core";
import { z } from "zod";

export const webBuildEnv = createEnv({
  server: {
    /** Where `dev:hot`'s Vite server passes /trpc, /app-config and /dev/* (npm start's API). */
    CALLFLOW_API_URL: z.string().url().default("http://localhost:3000"),
  },
  runtimeEnv: process.env,
  emptyStringAsUndefined: true,
});
