// The README's walkthrough, run by a client generated from
// api/openapi.json (openapi-typescript) and built with a strict tsc: a
// field the document lacks does not compile, and every value read is
// checked against what the server answered.
//
// Usage: node build/walkthrough.js <base URL> <API key>
import createClient from "openapi-fetch";
import type { paths, components } from "./build/schema";

declare const process: { argv: string[]; exitCode?: number };

const [baseUrl, key] = process.argv.slice(2);
if (!baseUrl || !key) {
  throw new Error("usage: walkthrough <base URL> <API key>");
}
const crm = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${key}` } });

function check(ok: boolean, what: string): asserts ok {
  if (!ok) {
    throw new Error(`walkthrough: ${what}`);
  }
}

function must<T>(r: { data?: T; error?: unknown; response: Response }, what: string): T {
  check(r.data !== undefined, `${what}: ${r.response.status} ${JSON.stringify(r.error)}`);
  return r.data;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const email = `ada-${Date.now()}@example.com`;
  const captured = must(
    await crm.POST("/v1/leads", {
      body: { name: "Ada Lovelace", company: "Engines Ltd", email, source: "webinar", region: "EMEA" },
    }),
    "capture",
  );
  const lead = captured.id;
  check(captured.version === 1 && captured.events.length === 1, "capture answers version 1 and one event");

  const attempt = must(
    await crm.POST("/v1/leads/{id}/contact-attempts", {
      params: { path: { id: lead } },
      body: { channel: "call", outcome: "reached" },
    }),
    "contact attempt",
  );
  // The version a command returns stays valid for If-Match.
  const qualified = must(
    await crm.POST("/v1/leads/{id}/qualify", {
      params: { path: { id: lead }, header: { "If-Match": `"${attempt.version}"` } },
      body: {},
    }),
    "qualify with If-Match",
  );

  // A stale If-Match is a 412 that names the current version.
  const stale = await crm.POST("/v1/leads/{id}/qualify", {
    params: { path: { id: lead }, header: { "If-Match": `"1"` } },
    body: {},
  });
  check(stale.response.status === 412, `stale If-Match: ${stale.response.status}`);
  const problem: components["schemas"]["Problem"] | undefined = stale.error;
  check(problem?.current_version === qualified.version, "412 names the current version");

  // A moment between the qualification and the conversion.
  await sleep(300);
  const before = new Date().toISOString();
  await sleep(300);
  const converted = must(
    await crm.POST("/v1/leads/{id}/convert", {
      params: { path: { id: lead } },
      body: { opportunity: { name: "Engines 2027", amount: "125000.00", currency: "EUR", expected_close_date: "2027-03-31" } },
    }),
    "convert",
  );
  check(typeof converted.account_id === "string" && typeof converted.contact_id === "string", "conversion ids");
  const opportunityID = converted.opportunity_id;
  check(typeof opportunityID === "string", "conversion opened an opportunity");

  const then = must(await crm.GET("/v1/leads/{id}", { params: { path: { id: lead }, query: { as_of: before } } }), "lead as of");
  check(then.status === "qualified", `as_of status ${then.status}`);
  const now = must(await crm.GET("/v1/leads/{id}", { params: { path: { id: lead } } }), "lead");
  check(now.status === "converted" && now.conversion?.opportunity_id === opportunityID, "lead converted");
  const score: number = now.score;
  check(score >= 0, "score");

  const history = must(await crm.GET("/v1/leads/{id}/history", { params: { path: { id: lead } } }), "history");
  check(history.items.length === now.version, "history has one event per version");

  const caughtUp = converted.position ? { min_position: converted.position } : {};
  const audit = must(
    await crm.GET("/v1/audit", { params: { query: { entity_type: "lead", entity_id: lead, ...caughtUp } } }),
    "audit",
  );
  check(typeof audit !== "string", "the audit answers JSON without an export format");
  check(audit.items.length >= 4, `audit entries ${audit.items.length}`);

  const opportunity = must(await crm.GET("/v1/opportunities/{id}", { params: { path: { id: opportunityID } } }), "opportunity");
  const approvals: components["schemas"]["Approval"][] = opportunity.approvals ?? [];
  check(opportunity.stage === "prospecting" && approvals.length === 0, "opportunity");

  const ticket = must(
    await crm.POST("/v1/tickets", {
      body: { subject: "Cannot log in", priority: "high", channel: "email", account_id: converted.account_id },
    }),
    "open ticket",
  );
  const t = must(await crm.GET("/v1/tickets/{id}", { params: { path: { id: ticket.id } } }), "ticket");
  check(t.status === "open" && t.first_response_breached === false && t.satisfaction === null, "ticket state");
  check(Date.parse(t.first_response_due) > Date.parse(t.opened_at), "first response due after opening");

  const funnel = must(await crm.GET("/v1/reports/funnel", { params: { query: caughtUp } }), "funnel");
  check(funnel.leads.stages.length > 0, "funnel stages");
  const verify = must(await crm.GET("/v1/audit/verify"), "verify");
  check(verify.ok === true, "the log verifies");
  console.log(`walkthrough ok: lead ${lead} converted, opportunity ${opportunityID}, ${verify.events_checked} events verified`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
