// The scim-bridge console: a page over the admin API (docs/architecture.md, "The console").
//
// Every value shown comes from an identity provider or a vendor and is attacker controlled,
// so it only ever becomes text: `el` appends strings as text nodes, and nothing here assigns
// HTML. The page's Content-Security-Policy requires Trusted Types with no policy, so the
// browser would refuse an `innerHTML = …` anyway.
//
// The credential lives in sessionStorage (gone with the tab) and goes with each call as the
// Authorization header; requests omit cookies, so there is nothing for another site to ride
// on, and the browser never shows its own Basic login dialog.

const AUTH_KEY = "scim-bridge.authorization";
const LOOKUPS = [
  ["userName", "userName"],
  ["externalId", "externalId"],
  ["id", "SCIM id"],
  ["displayName", "Group displayName"],
  ["requestId", "request id"],
];

/** An element with properties and children; strings become text, never markup. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/** A failed admin API call, with the SCIM error's detail. */
class ApiFailure extends Error {
  constructor(status, detail) {
    super(detail || `HTTP ${status}`);
    this.status = status;
  }
}

async function api(method, path) {
  const authorization = sessionStorage.getItem(AUTH_KEY);
  const headers = { Accept: "application/json" };
  if (authorization) headers.Authorization = authorization;
  const response = await fetch(path, { method, headers, credentials: "omit", cache: "no-store" });
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    if (response.status === 401 && authorization) {
      sessionStorage.removeItem(AUTH_KEY);
      showLogin("The admin API refused the credential; log in again.");
    }
    throw new ApiFailure(response.status, body && body.detail ? body.detail : text);
  }
  return body;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

const segment = encodeURIComponent;

// ---- page frame ---------------------------------------------------------------------------

function say(text, isError = false) {
  const message = document.getElementById("message");
  message.textContent = text;
  message.className = isError ? "error" : "";
  message.hidden = !text;
}

function failed(error) {
  say(error instanceof ApiFailure ? `${error.message} (HTTP ${error.status})` : String(error), true);
}

function showLogin(text) {
  document.getElementById("nav").hidden = true;
  document.getElementById("login").hidden = false;
  document.getElementById("view").replaceChildren();
  say(text || "", Boolean(text));
}

async function logIn(event) {
  event.preventDefault();
  const user = document.getElementById("login-user").value;
  const secret = document.getElementById("login-secret").value;
  const authorization = user
    ? `Basic ${btoa(String.fromCharCode(...new TextEncoder().encode(`${user}:${secret}`)))}`
    : `Bearer ${secret}`;
  sessionStorage.setItem(AUTH_KEY, authorization);
  try {
    await api("GET", "connectors");
  } catch (error) {
    sessionStorage.removeItem(AUTH_KEY);
    showLogin(`Not logged in: ${error.message}`);
    return;
  }
  document.getElementById("login-secret").value = "";
  say("");
  route();
}

function logOut() {
  sessionStorage.removeItem(AUTH_KEY);
  location.hash = "";
  showLogin("Logged out.");
}

function time(text) {
  if (!text) return "";
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? String(text) : date.toLocaleString();
}

function json(value) {
  return el("pre", {}, JSON.stringify(value, null, 2));
}

function table(headings, rows) {
  return el(
    "table",
    {},
    el("thead", {}, el("tr", {}, headings.map((h) => el("th", {}, h)))),
    el("tbody", {}, rows),
  );
}

function badge(text, kind) {
  return el("span", { class: `badge ${kind}` }, text);
}

async function connectorNames() {
  const body = await api("GET", "connectors");
  return body.connectors.map((c) => c.name);
}

function select(name, options, chosen) {
  return el(
    "select",
    { name, id: `field-${name}` },
    options.map(([value, label]) => el("option", { value, selected: value === chosen }, label)),
  );
}

/** Runs `action`, then says `done` and redraws the current view. */
async function act(action, done) {
  try {
    const result = await action();
    say(typeof done === "function" ? done(result) : done);
    await route({ keepMessage: true });
  } catch (error) {
    failed(error);
  }
}

// ---- connectors ---------------------------------------------------------------------------

function endpointCell(endpoint) {
  const health =
    endpoint.reachable === null
      ? badge("not called yet", "muted")
      : endpoint.reachable
        ? badge("reachable", "ok")
        : badge("unreachable", "bad");
  const limiter = endpoint.limiter;
  return el(
    "div",
    { class: "endpoint" },
    el("strong", {}, endpoint.name),
    " ",
    health,
    endpoint.credentialsRefused ? [" ", badge("credentials refused", "bad")] : null,
    el("div", { class: "muted mono" }, endpoint.baseUrl),
    el(
      "div",
      {},
      `${endpoint.calls} calls, ${endpoint.failures} failed, ${endpoint.retries} retries, ${endpoint.inFlight} in flight`,
    ),
    endpoint.lastError ? el("div", { class: "bad" }, `Last error: ${endpoint.lastError}`) : null,
    limiter
      ? el(
          "div",
          { class: "muted" },
          `Limit ${limiter.ratePerSecond}/s, burst ${limiter.burst}, ${limiter.waiting} waiting`,
          limiter.pausedUntil ? `, paused until ${time(limiter.pausedUntil)}` : "",
        )
      : null,
  );
}

function limitsText(limits) {
  const rate = (r) => (r ? `${r.perSecond}/s (burst ${r.burst})` : "none");
  return `per client ${rate(limits.perClient)}; per connector ${rate(limits.perConnector)}`;
}

/** One cheap vendor call now; the page then shows what it found. */
function probe(name) {
  act(
    () => api("GET", `connectors/${segment(name)}?probe=true`),
    (status) =>
      status.probe.reachable
        ? `${name}: the vendor answers and takes our credentials.`
        : `${name}: the vendor check failed: ${status.probe.error}`,
  );
}

async function connectorsView(view) {
  const body = await api("GET", "connectors");
  view.append(
    el("h2", {}, "Connectors"),
    table(
      ["Connector", "Delivery", "Vendor", "Inbound limits", "Queue", "Last reconciliation"],
      body.connectors.map((c) =>
        el(
          "tr",
          { "data-connector": c.name },
          el(
            "td",
            {},
            el("strong", {}, c.name),
            el("div", { class: "muted" }, c.kind),
            c.vendor.endpoints.length
              ? el("button", { type: "button", class: "secondary probe", onclick: () => probe(c.name) }, "Check the vendor now")
              : null,
          ),
          el("td", {}, c.delivery),
          el(
            "td",
            {},
            c.vendor.endpoints.length
              ? c.vendor.endpoints.map(endpointCell)
              : el("span", { class: "muted" }, "no vendor (the store only)"),
          ),
          el("td", {}, limitsText(c.inboundLimits)),
          el(
            "td",
            { class: "queue" },
            `${c.queue.queued} queued, `,
            el("span", { class: c.queue.failed ? "bad" : "" }, `${c.queue.failed} failed`),
            c.queue.oldestQueuedAgeSeconds !== null
              ? el("div", { class: "muted" }, `oldest ${Math.round(c.queue.oldestQueuedAgeSeconds)} s`)
              : null,
          ),
          el(
            "td",
            {},
            c.lastReconciliation
              ? `${time(c.lastReconciliation.finished)}: ${c.lastReconciliation.inSync} in sync, ${c.lastReconciliation.unresolved} unresolved`
              : el("span", { class: "muted" }, "none since start"),
          ),
        ),
      ),
    ),
  );
}

// ---- find a person ------------------------------------------------------------------------

function trailRow(record) {
  const what =
    record.type === "request"
      ? `${record.method} ${record.path}`
      : `${record.endpoint}: ${record.call} (${record.method} ${record.path})`;
  const who =
    record.type === "request"
      ? `from ${record.principal ?? "?"}`
      : `attempt ${record.attempt}, ${record.outcome}${record.vendorRequestId ? `, vendor request ${record.vendorRequestId}` : ""}`;
  return el(
    "tr",
    { class: "trail" },
    el("td", {}, time(record.at)),
    el("td", {}, record.type === "request" ? "request" : "vendor call"),
    el("td", { class: "mono" }, what),
    el("td", { class: record.status >= 400 || record.status === null ? "bad" : "ok" }, record.status ?? "no answer"),
    el("td", { class: "num" }, `${record.durationMs} ms`),
    el("td", {}, who),
  );
}

function entryCard(entry) {
  const change = entry.change;
  return el(
    "div",
    { class: "card entry", "data-seq": entry.seq },
    el(
      "div",
      {},
      el("strong", {}, `#${entry.seq} ${change.operation} ${entry.resourceType}`),
      " ",
      badge(entry.state, entry.state === "committed" ? "ok" : entry.state === "failed" ? "bad" : "warn"),
      " ",
      el("span", { class: "muted" }, `${time(entry.created)}, request ${entry.requestId ?? "(none)"}, ${entry.attempts} attempts`),
    ),
    entry.lastError ? el("div", { class: "bad" }, `Last error: ${entry.lastError}`) : null,
    change.attributes ? el("details", {}, el("summary", {}, "Attributes written"), json(change.attributes)) : null,
    change.members ? el("div", { class: "muted" }, `Members: ${change.members.added.length} added, ${change.members.removed.length} removed`) : null,
    entry.trail.length
      ? table(["At", "What", "Call", "Status", "Took", "Detail"], entry.trail.map(trailRow))
      : el("div", { class: "muted" }, "No trail kept for this entry."),
  );
}

function vendorCard(vendor) {
  if (!vendor.checked) {
    return el("div", { class: "card vendor" }, el("h3", {}, "At the vendor"), el("div", { class: "muted" }, vendor.reason));
  }
  return el(
    "div",
    { class: "card vendor" },
    el("h3", {}, "At the vendor ", vendor.inSync ? badge("in sync", "ok") : badge("differs", "bad")),
    vendor.differences.map((d) => el("div", { class: "bad" }, d)),
    vendor.account ? json(vendor.account) : el("div", { class: "bad" }, "The vendor has no such account."),
  );
}

function personForm(params, names) {
  const by = LOOKUPS.find(([key]) => params.has(key))?.[0] ?? "userName";
  const form = el(
    "form",
    { id: "person-form" },
    el("label", {}, "Connector", select("connector", names.map((n) => [n, n]), params.get("connector") ?? names[0])),
    el("label", {}, "Look up by", select("by", LOOKUPS, by)),
    el("label", {}, "Value", el("input", { name: "value", id: "field-value", required: true, value: params.get(by) ?? "", size: 32 })),
    el(
      "label",
      {},
      "Outcome",
      select("outcome", [["", "any"], ["committed", "committed"], ["failed", "failed"], ["pending", "pending"]], params.get("outcome") ?? ""),
    ),
    el("label", { class: "inline" }, el("input", { type: "checkbox", name: "vendor", id: "field-vendor", checked: params.get("vendor") === "true" }), " ask the vendor too"),
    el("button", { type: "submit", id: "person-search" }, "Search"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const search = new URLSearchParams();
    if (data.get("by") !== "requestId") search.set("connector", data.get("connector"));
    search.set(data.get("by"), data.get("value"));
    if (data.get("outcome")) search.set("outcome", data.get("outcome"));
    if (data.get("vendor")) search.set("vendor", "true");
    location.hash = `person?${search}`;
  });
  return form;
}

async function personView(view, params) {
  const names = await connectorNames();
  view.append(el("h2", {}, "Find a person"), personForm(params, names));
  if (!LOOKUPS.some(([key]) => params.has(key))) return;
  const body = await api("GET", `history?${params}`);
  const results = el("div", { id: "person-results" });
  if (body.resource) {
    const r = body.resource;
    results.append(
      el(
        "div",
        { class: "card resource" },
        el("h3", {}, `Now in the store: ${r.resourceType} ${r.id} (version ${r.version})`),
        el("div", { class: "names" }, ["userName", "displayName", "externalId"]
          .filter((key) => typeof r.attributes[key] === "string")
          .map((key) => el("div", {}, el("span", { class: "muted" }, `${key}: `), r.attributes[key]))),
        json(r.attributes),
        el("details", {}, el("summary", {}, "Vendor keys"), json(r.vendorKeys)),
      ),
    );
  } else if (!params.has("requestId")) {
    results.append(el("div", { class: "card muted" }, "The store holds no such resource now (deleted)."));
  }
  if (body.vendor) results.append(vendorCard(body.vendor));
  if (body.requests && body.requests.length) {
    results.append(el("h3", {}, "The request"), table(["At", "What", "Call", "Status", "Took", "Detail"], body.requests.map(trailRow)));
  }
  results.append(el("h3", {}, "History, newest first"));
  results.append(...(body.entries.length ? body.entries.map(entryCard) : [el("div", { class: "muted" }, "No journal entries.")]));
  if (body.next !== null) {
    const older = new URLSearchParams(params);
    older.set("before", body.next);
    results.append(el("a", { href: `#person?${older}`, id: "older" }, "Older entries"));
  }
  view.append(results);
}

// ---- deliveries ---------------------------------------------------------------------------

function deliveryRow(d) {
  const retry = () =>
    act(() => api("POST", `queue/${segment(d.seq)}/retry`), `Delivery #${d.seq} is attempted again.`);
  const drop = () => {
    if (!confirm(`Give up delivery #${d.seq}? The vendor will not get this change.`)) return;
    act(() => api("POST", `queue/${segment(d.seq)}/drop`), `Delivery #${d.seq} was dropped.`);
  };
  const person = new URLSearchParams({ connector: d.connector, id: d.change.id, resourceType: d.resourceType });
  const name = d.change.attributes?.userName ?? d.change.attributes?.displayName;
  return el(
    "tr",
    { "data-seq": d.seq },
    el("td", { class: "num" }, d.seq),
    el("td", {}, d.connector),
    el(
      "td",
      {},
      `${d.change.operation} ${d.resourceType}`,
      name ? el("div", {}, name) : null,
      el("div", {}, el("a", { href: `#person?${person}`, class: "mono" }, d.change.id)),
    ),
    el("td", {}, badge(d.state, d.state === "failed" ? "bad" : d.state === "delivered" ? "ok" : "warn")),
    el("td", { class: "num" }, d.attempts),
    el("td", { class: "bad" }, d.lastError ?? ""),
    el("td", {}, time(d.created)),
    el(
      "td",
      {},
      d.state === "failed" ? el("button", { type: "button", class: "secondary retry", onclick: retry }, "Retry") : null,
      " ",
      d.state === "failed" || d.state === "queued" ? el("button", { type: "button", class: "danger drop", onclick: drop }, "Drop") : null,
    ),
  );
}

async function deliveriesView(view, params) {
  const names = await connectorNames();
  const state = params.get("state") ?? "failed";
  const connector = params.get("connector") ?? "";
  const form = el(
    "form",
    { id: "deliveries-form" },
    el("label", {}, "Connector", select("connector", [["", "all"], ...names.map((n) => [n, n])], connector)),
    el(
      "label",
      {},
      "State",
      select("state", ["failed", "queued", "delivered", "dropped"].map((s) => [s, s]), state),
    ),
    el("button", { type: "submit" }, "Show"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `deliveries?${new URLSearchParams(new FormData(form))}`;
  });
  const body = await api("GET", `queue${query({ connector, state, before: params.get("before") })}`);
  view.append(el("h2", {}, "Deliveries"), form);
  if (connector && state === "failed" && body.entries.length) {
    view.append(
      el(
        "button",
        {
          type: "button",
          id: "retry-all",
          onclick: () =>
            act(
              () => api("POST", `queue/retry${query({ connector })}`),
              (r) => `${r.retried} deliveries are attempted again${r.more ? "; more remain" : ""}.`,
            ),
        },
        `Retry every failed delivery of ${connector}`,
      ),
    );
  }
  view.append(
    body.entries.length
      ? table(["#", "Connector", "Change", "State", "Attempts", "Last error", "Journalled", ""], body.entries.map(deliveryRow))
      : el("p", { class: "muted", id: "no-deliveries" }, `No ${state} deliveries.`),
  );
  if (body.next !== null) {
    view.append(el("a", { href: `#deliveries${query({ connector, state, before: body.next })}` }, "Older deliveries"));
  }
}

// ---- reconciliation -----------------------------------------------------------------------

function reportCard(connector, report) {
  return el(
    "div",
    { class: "report" },
    el(
      "div",
      {},
      `Finished ${time(report.finished)}: ${report.stored} stored, ${report.atVendor} at the vendor, ${report.inSync} in sync, `,
      el("span", { class: report.unresolved ? "bad" : "ok" }, `${report.unresolved} unresolved`),
    ),
    report.drift.length
      ? table(
          ["Drift", "Type", "Name", "SCIM id", "Differences"],
          report.drift.map((d) =>
            el(
              "tr",
              {},
              el("td", {}, d.drift),
              el("td", {}, d.resourceType),
              el("td", {}, d.name ?? ""),
              el(
                "td",
                { class: "mono" },
                d.id
                  ? el("a", { href: `#person?${new URLSearchParams({ connector, id: d.id, resourceType: d.resourceType })}` }, d.id)
                  : (d.importedAs ?? ""),
              ),
              el("td", {}, (d.differences ?? []).join("; ")),
            ),
          ),
        )
      : null,
  );
}

async function reconcileView(view) {
  const names = await connectorNames();
  view.append(el("h2", {}, "Reconciliation"));
  for (const name of names) {
    const card = el("div", { class: "card", "data-connector": name }, el("h3", {}, name));
    const run = () =>
      act(() => api("POST", `connectors/${segment(name)}/reconcile`), (r) => `${name} reconciled: ${r.unresolved} unresolved.`);
    card.append(el("button", { type: "button", class: "secondary run-reconcile", onclick: run }, "Run a reconciliation now"));
    try {
      card.append(reportCard(name, await api("GET", `connectors/${segment(name)}/reconcile`)));
    } catch (error) {
      if (!(error instanceof ApiFailure && error.status === 404)) throw error;
      card.append(el("p", { class: "muted" }, "No report since this process started."));
    }
    view.append(card);
  }
}

// ---- deletion guard -----------------------------------------------------------------------

function guardCard(name, guard) {
  const base = `connectors/${segment(name)}/guard`;
  const count = el("input", { type: "number", min: 1, value: Math.max(guard.heldTotal, 1), class: "allow-count", size: 6 });
  const minutes = el("input", { type: "number", min: 1, value: 10, class: "allow-minutes", size: 6 });
  const allowCount = () =>
    act(() => api("POST", `${base}/allow${query({ count: count.value })}`), `${name}: the next ${count.value} removals may pass.`);
  const allowMinutes = () =>
    act(() => api("POST", `${base}/allow${query({ minutes: minutes.value })}`), `${name}: removals pass for ${minutes.value} minutes.`);
  const reset = () => act(() => api("POST", `${base}/reset`), `${name}: the guard counts afresh.`);
  return el(
    "div",
    { class: "card guard", "data-connector": name },
    el("h3", {}, `${name} `, guard.trippedSince ? badge(`holding removals since ${time(guard.trippedSince)}`, "bad") : badge("open", "ok")),
    el(
      "div",
      {},
      `At most ${guard.max} deletions or deactivations in ${guard.windowSecs} s; ${guard.inWindow} in the window now.`,
      guard.allowedCount ? ` ${guard.allowedCount} more allowed by an operator.` : "",
      guard.allowedUntil ? ` Allowed until ${time(guard.allowedUntil)}.` : "",
      guard.heldTotal > guard.held.length ? ` ${guard.heldTotal} held; the oldest ${guard.held.length} are listed.` : "",
    ),
    guard.held.length
      ? table(
          ["When", "What", "Type", "Name", "SCIM id", "Request"],
          guard.held.map((h) =>
            el(
              "tr",
              { class: "held" },
              el("td", {}, time(h.at)),
              el("td", {}, h.what),
              el("td", {}, h.resourceType),
              el("td", {}, h.name ?? ""),
              el("td", { class: "mono" }, h.id),
              el("td", { class: "mono" }, h.requestId ?? ""),
            ),
          ),
        )
      : el("p", { class: "muted" }, "Nothing held."),
    el(
      "form",
      { onsubmit: (event) => event.preventDefault() },
      el("label", {}, "Allow the next", count),
      el("button", { type: "button", class: "allow", onclick: allowCount }, "Allow"),
      el("label", {}, "or every removal for minutes", minutes),
      el("button", { type: "button", class: "secondary allow-for", onclick: allowMinutes }, "Allow for a time"),
      el("button", { type: "button", class: "danger reset", onclick: reset }, "Reset (forget what is held)"),
    ),
  );
}

async function guardView(view) {
  const names = await connectorNames();
  view.append(el("h2", {}, "Deletion guard"));
  let guarded = 0;
  for (const name of names) {
    try {
      view.append(guardCard(name, await api("GET", `connectors/${segment(name)}/guard`)));
      guarded += 1;
    } catch (error) {
      if (!(error instanceof ApiFailure && error.status === 404)) throw error;
    }
  }
  if (!guarded) view.append(el("p", { class: "muted" }, "No connector has a deletion guard ([connectors.NAME.deletion_guard])."));
}

// ---- routing ------------------------------------------------------------------------------

const VIEWS = {
  connectors: connectorsView,
  person: personView,
  deliveries: deliveriesView,
  reconcile: reconcileView,
  guard: guardView,
};

async function route(options = {}) {
  if (!sessionStorage.getItem(AUTH_KEY)) {
    showLogin();
    return;
  }
  document.getElementById("login").hidden = true;
  document.getElementById("nav").hidden = false;
  const [name, search] = location.hash.slice(1).split(/\?(.*)/s);
  const viewName = VIEWS[name] ? name : "connectors";
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("current", link.getAttribute("href") === `#${viewName}`);
  }
  if (!options.keepMessage) say("");
  const view = el("div", { "data-view": viewName, class: "loading" });
  try {
    await VIEWS[viewName](view, new URLSearchParams(search ?? ""));
  } catch (error) {
    // A refused credential has put the login form up already.
    if (!sessionStorage.getItem(AUTH_KEY)) return;
    failed(error);
  }
  view.className = "loaded";
  document.getElementById("view").replaceChildren(view);
}

document.getElementById("login-form").addEventListener("submit", logIn);
document.getElementById("logout").addEventListener("click", logOut);
window.addEventListener("hashchange", () => route());
route();
