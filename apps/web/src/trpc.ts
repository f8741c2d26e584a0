// The typed tRPC client: only the API's router type crosses over, never its code.
import type { AppRouter } from "@callflow/api/router";
import { createTRPCReact } from "@trpc/react-query";
import type { inferRouterInputs, inferRouterOutputs } from "@trpc/server";

export const trpc = createTRPCReact<AppRouter>();
export type Outputs = inferRouterOutputs<AppRouter>;
export type Inputs = inferRouterInputs<AppRouter>;

/** Where the API is: the dashboard's own origin, unless the build was pointed elsewhere. */
export const apiBase = (import.meta.env.VITE_API_URL ?? "").replace(/\/$/, "");
