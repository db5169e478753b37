// A web app on one loopback origin calls `planocore serve` on another, in headless Chromium.
//
//   node scripts/browser/cors-check.mjs PLANOCORE_BINARY
//
// The page (served from http://127.0.0.1:<page port>) calls both routes with `fetch` and shows
// each answer's HTTP code, status slug and x-request-id header (readable only when CORS exposes
// it); the create is sent twice with an Idempotency-Key (a header the preflight must allow), and
// the retry's idempotent-replayed header must be readable. The check reads them from the page. Then `planocore serve --cors-origin http://localhost:*`
// (which does not admit the page's origin) must be refused by the browser: fetch rejects.

import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const binary = process.argv[2];
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
if (!binary) {
  console.error("usage: node scripts/browser/cors-check.mjs PLANOCORE_BINARY");
  process.exit(2);
}

// The page a web app would be: it calls the API at ?api=..., then shows what it got.
const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>PlanOcore from another origin</title>
<pre id="result">running</pre>
<script>
const api = new URLSearchParams(location.search).get("api");
async function call(method, path, body, key) {
  const headers = { "content-type": "application/json" };
  if (key) headers["idempotency-key"] = key;
  try {
    const r = await fetch(api + path, { method, headers, body });
    const json = await r.json();
    return {
      code: r.status, status: json.status, requestId: r.headers.get("x-request-id"),
      replayed: r.headers.get("idempotent-replayed"),
    };
  } catch (e) {
    return { blocked: e.name + ": " + e.message };
  }
}
(async () => {
  // Clients Update is a sensitive route: its JSON body is sent base64-encoded.
  const update = btoa(JSON.stringify({ token: "demo-employee-token", id: 100, phone: "303-555-0177" }));
  const create = JSON.stringify({
    token: "demo-app-token", integration_id: 7, entity_slug: "browser-realty", email: "team@browser.example",
    name: "Browser Realty", active: true,
    address: { street: "5 Elm St", city: "Denver", state: "CO", country: "US", postal_code: "80203" },
  });
  const results = {
    "clients.update": await call("PUT", "/api/v1/clients/update", update),
    "entities.create": await call("POST", "/api/v1/entities/create", create, "browser-create-1"),
    "entities.create retried": await call("POST", "/api/v1/entities/create", create, "browser-create-1"),
  };
  document.getElementById("result").textContent = JSON.stringify(results);
})();
</script>`;

function pageServer() {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(PAGE);
    });
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

// `planocore serve` on a free port; resolves with its base URL once it listens.
function startServe(extraArgs) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ["serve", "--addr", "127.0.0.1:0", ...extraArgs], {
      env: { ...process.env, PLANOCORE_CORS_ORIGINS: "", RUST_LOG: "warn" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`planocore serve exited (${code})`)));
    // A server that never says where it listens fails the check instead of hanging it.
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error("planocore serve printed no listening line within 20 s"));
    }, 20000);
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      const m = line.match(/^planocore: listening on (http:\/\/\S+)$/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    });
  });
}

async function readPage(browser, pageUrl) {
  const page = await browser.newPage();
  const errors = [];
  page.on("console", (msg) => msg.type() === "error" && errors.push(msg.text()));
  await page.goto(pageUrl);
  await page.waitForFunction(() => document.getElementById("result").textContent !== "running", null, { timeout: 20000 });
  const results = JSON.parse(await page.textContent("#result"));
  await page.close();
  return { results, errors };
}

let failures = 0;
function expect(what, ok, detail) {
  console.log(`browser: ${ok ? "ok  " : "FAIL"} ${what}${ok ? "" : ": " + detail}`);
  if (!ok) failures++;
}

const page = await pageServer();
const pageOrigin = `http://127.0.0.1:${page.address().port}`;
const servers = [];
let browser;
try {
  // Playwright gives the browser a new empty profile (--user-data-dir) of its own.
  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
    ],
  });

  // The default origins admit http://127.0.0.1:* : the page's calls go through.
  const allowed = await startServe([]);
  servers.push(allowed.child);
  const { results } = await readPage(browser, `${pageOrigin}/?api=${encodeURIComponent(allowed.url)}`);
  console.log(`browser: page ${pageOrigin} -> ${allowed.url}: ${JSON.stringify(results)}`);
  for (const route of ["clients.update", "entities.create"]) {
    const r = results[route];
    expect(`${route} from ${pageOrigin} answered 200 action-successful`, r.code === 200 && r.status === "action-successful", JSON.stringify(r));
    expect(`${route}: the page reads x-request-id (exposed)`, typeof r.requestId === "string" && r.requestId.length > 0, JSON.stringify(r));
  }
  const retried = results["entities.create retried"];
  expect("entities.create retried with its Idempotency-Key: the page reads idempotent-replayed (exposed)",
    retried.code === 200 && retried.replayed === "true" && retried.requestId === results["entities.create"].requestId,
    JSON.stringify(retried));

  // Only http://localhost:* admitted: the browser refuses the page's calls.
  const refused = await startServe(["--cors-origin", "http://localhost:*"]);
  servers.push(refused.child);
  const blocked = await readPage(browser, `${pageOrigin}/?api=${encodeURIComponent(refused.url)}`);
  console.log(`browser: page ${pageOrigin} -> ${refused.url} (--cors-origin http://localhost:*): ${JSON.stringify(blocked.results)}`);
  for (const route of ["clients.update", "entities.create"]) {
    const r = blocked.results[route];
    expect(`${route} from a disallowed origin is blocked by the browser`, typeof r.blocked === "string", JSON.stringify(r));
  }
  expect("Chromium names CORS as the reason", blocked.errors.some((e) => e.includes("CORS")), JSON.stringify(blocked.errors));
} finally {
  if (browser) await browser.close();
  for (const child of servers) child.kill();
  page.close();
}
console.log(failures === 0 ? "browser: CORS check passed" : `browser: ${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
