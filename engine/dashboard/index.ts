/** The live dashboard (`/ui`): one call mounts it on a gateway; `wireSource` adds a wire server's places. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Dashboard } from './dashboard.ts';
import { gatewaySource, type GatewayParts } from './gateway-source.ts';
import { dashboardRoutes, type Authorize } from './http.ts';

export { Dashboard } from './dashboard.ts';
export { wireSource } from './wire-source.ts';
export type { DashboardSource } from './source.ts';

export interface MountedDashboard {
  readonly dashboard: Dashboard;
  /** Answers GET /ui, /ui/… and /ui/stream; throws a RoamError (the gateway answers it) otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, path: string): void;
}

export function mountDashboard(parts: GatewayParts, authorize: Authorize): MountedDashboard {
  const dashboard = new Dashboard();
  dashboard.add(gatewaySource(parts));
  return { dashboard, handle: dashboardRoutes(dashboard, authorize) };
}
