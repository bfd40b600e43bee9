import { Elysia, t } from "elysia";
import type { EntityService } from "../domain/entity.ts";
import type { JsonObject } from "../domain/list.ts";
import { DISABLED, ENABLED } from "../domain/status.ts";
import { invalid, Msg } from "../errors/index.ts";
import { then } from "../lib/maybe-promise.ts";
import { docs, empty, ok } from "./openapi.ts";
import { ELYSIA_OPTIONS, jsonBody, NullableString, noBody, Obj, StringList } from "./schema.ts";
import { type FastView, jsonBodyText, reply, replyEmpty, requestContext } from "./server.ts";

/** What differs between the clients' and the channels' shared routes. */
export interface EntityRoutesOptions<Row> {
  /** The path segment: `clients` or `channels` (also the OpenAPI tag). */
  kind: "clients" | "channels";
  /** The path parameter of the entity's id: `clientID`, `channelID`. */
  idParam: "clientID" | "channelID";
  /** The entity's name in operation ids and summaries: `Client`, `Channel`. */
  noun: "Client" | "Channel";
  svc: EntityService<Row, unknown>;
  json: (row: Row) => JsonObject;
  /** Example tags of the tags route's body. */
  exampleTags: string[];
  /** What disabling leaves and refuses. */
  disableNote: string;
  /** What deleting takes with it. */
  deleteNote: string;
}

/**
 * GET one client or channel without a query: answered by Bun's router directly (FastView in
 * src/http/server.ts); its Elysia route renders with the same function.
 */
export function entityView<Row>(o: Pick<EntityRoutesOptions<Row>, "kind" | "idParam" | "json"> & { svc: Pick<EntityService<Row, unknown>, "view"> }): FastView {
  return {
    path: `/:domainID/${o.kind}/:${o.idParam}`,
    render: (ctx, id) => then(o.svc.view(ctx, id), (row) => jsonBodyText(o.json(row))),
  };
}

/**
 * The routes clients and channels share, written once: replace tags, enable, disable, set and
 * remove the parent group, delete. Each capability's routes `.use()` them beside their own.
 */
export function entityRoutes<Row>(o: EntityRoutesOptions<Row>) {
  const { kind, idParam, noun, svc, json } = o;
  const lower = noun.toLowerCase();
  const params = t.Object({ domainID: t.String(), [idParam]: t.String() });
  const idOf = (p: Record<string, string>) => p[idParam]!;
  const doc = docs(kind);
  const base = `/:domainID/${kind}/:${idParam}`;
  const statusRoute = (action: "enable" | "disable") => ({
    ...noBody,
    params,
    ...doc({
      id: `${action}${noun}`,
      summary: `${action === "enable" ? "Enable" : "Disable"} a ${lower}`,
      ...(action === "disable" ? { description: o.disableNote } : {}),
      ok: ok(noun, `The ${action}d ${lower}.`),
      fails: [404, 422],
      messages: { 422: Msg.statusAssigned },
    }),
  });

  return new Elysia({ ...ELYSIA_OPTIONS, name: `${kind}-entity-routes` })
    .patch(
      `${base}/tags`,
      async ({ request, params, set, body }) => reply(set, 200, json(await svc.updateTags(requestContext(request), idOf(params), body.tags ?? []))),
      {
        ...jsonBody,
        params,
        body: Obj({ tags: t.Optional(StringList()) }, { examples: [{ tags: o.exampleTags }] }),
        ...doc({
          id: `update${noun}Tags`,
          summary: "Replace tags",
          description: "Absent or null clears them.",
          ok: ok(noun, `The updated ${lower}.`),
          fails: [400, 404, 415],
        }),
      },
    )
    .post(
      `${base}/enable`,
      async ({ request, params, set }) => reply(set, 200, json(await svc.setStatus(requestContext(request), idOf(params), ENABLED))),
      statusRoute("enable"),
    )
    .post(
      `${base}/disable`,
      async ({ request, params, set }) => reply(set, 200, json(await svc.setStatus(requestContext(request), idOf(params), DISABLED))),
      statusRoute("disable"),
    )
    .post(
      `${base}/parent`,
      async ({ request, params, set, body }) => {
        const parent = body.parent_group_id ?? "";
        if (parent === "") throw invalid(Msg.missingParent);
        await svc.setParent(requestContext(request), idOf(params), parent);
        return replyEmpty(set, 200);
      },
      {
        ...jsonBody,
        params,
        body: Obj({ parent_group_id: t.Optional(NullableString()) }, { examples: [{ parent_group_id: "3f9c2a1e-7b4d-4c8e-a6f2-1d0b9e8c7a53" }] }),
        ...doc({
          id: `set${noun}ParentGroup`,
          summary: "Set the parent group",
          ok: empty(200, "Set; empty body."),
          fails: [400, 404, 415],
          messages: { 400: Msg.missingParent },
        }),
      },
    )
    .delete(
      `${base}/parent`,
      async ({ request, params, set }) => {
        await svc.removeParent(requestContext(request), idOf(params));
        return replyEmpty(set, 204);
      },
      {
        ...noBody,
        params,
        ...doc({ id: `remove${noun}ParentGroup`, summary: "Remove the parent group", ok: empty(204, "Removed (a no-op when there is none)."), fails: [404] }),
      },
    )
    .delete(
      base,
      async ({ request, params, set }) => {
        await svc.remove(requestContext(request), idOf(params));
        return replyEmpty(set, 204);
      },
      {
        ...noBody,
        params,
        ...doc({ id: `remove${noun}`, summary: `Delete a ${lower}`, description: o.deleteNote, ok: empty(204, "Deleted."), fails: [404] }),
      },
    );
}
