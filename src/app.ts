import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import type { Logger } from "./logger";
import { authentication, type AuthSettings } from "./http/auth";
import { requestContext, type AppEnv } from "./http/context";
import { errorResponse, handleError } from "./http/errors";
import { jsonBodyGuard } from "./http/json-depth";
import { untypedBodyAsJson } from "./http/untyped-json-body";
import type { AppServices } from "./http/router";
import { agentRoutes } from "./http/routes/agents";
import { chatRoutes } from "./http/routes/chat";
import { conversationRoutes } from "./http/routes/conversations";
import { docsRoutes } from "./http/routes/docs";
import { durableStreamRoutes } from "./http/routes/durable-streams";
import { executionRoutes } from "./http/routes/executions";
import { operationRoutes } from "./http/routes/operations";
import { toolServerRoutes } from "./http/routes/tool-servers";
import { uiRoutes } from "./http/routes/ui";
import { workflowRoutes } from "./http/routes/workflow";

export interface AppOptions {
  services: AppServices;
  logger: Logger;
  limits: { bodyBytes: number; jsonDepth: number };
  auth: AuthSettings;
}

/** Route patterns as regexes, to tell a wrong method (405) from an unknown path (404). */
function methodsByPattern(app: OpenAPIHono<AppEnv>) {
  const patterns = new Map<string, { regex: RegExp; methods: Set<string> }>();
  for (const route of app.routes) {
    if (route.method === "ALL" || route.path.includes("*")) continue;
    const entry = patterns.get(route.path) ?? {
      regex: new RegExp(`^${route.path.replace(/:[A-Za-z]+/g, "[^/]+")}/?$`),
      methods: new Set<string>(),
    };
    entry.methods.add(route.method);
    if (route.method === "GET") entry.methods.add("HEAD");
    patterns.set(route.path, entry);
  }
  return [...patterns.values()];
}

/** The whole HTTP surface, testable with `app.request()` and no socket. */
export function createApp(options: AppOptions) {
  const app = new OpenAPIHono<AppEnv>();
  app.use(requestContext({ logger: options.logger }));
  app.use(authentication(options.auth));
  // A new turn the server would refuse is refused before its body is read and validated: under overload the
  // refusals must stay cheap, or answering them keeps the loop too busy to take turns again.
  app.post("/api/chat", async (_c, next) => {
    options.services.admission.admitTurn();
    await next();
  });
  app.use(
    "/api/*",
    bodyLimit({
      maxSize: options.limits.bodyBytes,
      onError: (c) =>
        errorResponse(c, "payload_too_large", `request body is larger than ${options.limits.bodyBytes} bytes`),
    }),
  );
  // Before the JSON guard, so that it checks such bodies too (WorkflowChatTransport posts one).
  app.use("/api/chat", untypedBodyAsJson());
  app.use("/api/*", jsonBodyGuard(options.limits.jsonDepth));

  const { services } = options;
  app.route("/", operationRoutes(services));
  app.route("/", agentRoutes(services));
  app.route("/", toolServerRoutes(services));
  app.route("/", chatRoutes(services));
  app.route("/", conversationRoutes(services));
  app.route("/", executionRoutes(services));
  app.route("/", durableStreamRoutes(services));
  app.route("/", docsRoutes());
  app.route("/", workflowRoutes(services));
  // Last: the UI answers every other GET (its client-side routes) with its index page.
  app.route("/", uiRoutes());

  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Tether API",
      version: "1.0.0",
      description: "Runs AI agents so that neither a dropped connection nor a crashed server loses a run.",
    },
  });

  const routePatterns = methodsByPattern(app);
  app.notFound((c) => {
    const allowed = routePatterns.find((pattern) => pattern.regex.test(c.req.path))?.methods;
    if (allowed && !allowed.has(c.req.method)) {
      return errorResponse(c, "method_not_allowed", `${c.req.method} is not allowed on ${c.req.path}`, {}, {
        allow: [...allowed].join(", "),
      });
    }
    return errorResponse(c, "not_found", `no route for ${c.req.method} ${c.req.path}`);
  });
  app.onError(handleError);
  return app;
}

export type App = ReturnType<typeof createApp>;
