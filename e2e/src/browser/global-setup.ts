import { ensureDashboardBuilt } from "./dashboard-build.ts";

export default function setup() {
  ensureDashboardBuilt();
}
