import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { Hono } from "hono";
import { projectRoot } from "../../paths";
import type { AppEnv } from "../context";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
};

interface Asset {
  body: Buffer;
  type: string;
}

function readAssets(folder: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(folder)) return assets;
  const walk = (directory: string) => {
    for (const name of readdirSync(directory)) {
      const file = path.join(directory, name);
      if (statSync(file).isDirectory()) walk(file);
      else {
        const urlPath = "/" + path.relative(folder, file).split(path.sep).join("/");
        assets.set(urlPath, { body: readFileSync(file), type: TYPES[path.extname(file)] ?? "application/octet-stream" });
      }
    }
  };
  walk(folder);
  return assets;
}

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Tether</title>
<p>The builder UI has not been built. Run <code>npm run build</code> (or <code>npm start</code>, which builds it).</p>`;

/**
 * The builder UI: the files Vite built into dist/ui, read once and served from memory. The UI routes
 * with the URL hash, so `/` is its only page and every other unknown path stays a JSON 404.
 */
export function uiRoutes(folder = path.join(projectRoot(), "dist", "ui")) {
  const assets = readAssets(folder);
  const index = assets.get("/index.html");
  const router = new Hono<AppEnv>();
  router.get("/", (c) => {
    if (!index) return c.html(NOT_BUILT);
    return c.body(new Uint8Array(index.body), 200, { "content-type": TYPES[".html"]!, "cache-control": "no-cache" });
  });
  router.get("*", async (c, next) => {
    const asset = c.req.path === "/index.html" ? undefined : assets.get(c.req.path);
    if (!asset) return next();
    return c.body(new Uint8Array(asset.body), 200, {
      "content-type": asset.type,
      // Vite puts a content hash in every asset name under /assets/.
      "cache-control": c.req.path.startsWith("/assets/") ? "public, max-age=31536000, immutable" : "no-cache",
    });
  });
  return router;
}
