// The HTTP routes that exist only when configured: the publish API
// (PUBLISH_API_KEY) and the local development token endpoint (AUTH_DEV_TOKENS=1).
import type { Broker } from '../bus/types.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { devTokenRoute } from './devTokens.js';
import { publishApiRoute } from './publishApi.js';
import type { Route } from './routes.js';

export function extraRoutes(config: Config, services: { broker: Broker; logger: Logger }): Route[] {
  const routes: Route[] = [];
  if (config.publishApi) {
    routes.push(publishApiRoute({ ...config.publishApi, instanceId: config.instanceId, maxTextBytes: config.maxTextBytes, ...services }));
  }
  if (config.auth.mode === 'jwt' && config.auth.devTokens && config.auth.key.kind === 'secret') {
    routes.push(devTokenRoute({ ...config.auth, key: config.auth.key }));
  }
  return routes;
}
