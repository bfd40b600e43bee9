import { answerAuthz, checkRecorder, credentialsCheck, type DialectContext, type HookRoute, textResponse } from "./dialect.ts";
import { type Fields, text } from "./request.ts";
import { fromRoutingKey } from "./topics.ts";

/**
 * RabbitMQ 3.10+ `rabbitmq_auth_backend_http` with `rabbitmq_mqtt` (contract hooks.md §1): form
 * POSTs (or GET with a query string), answered 200 with the plain text `allow` or `deny`. RabbitMQ
 * cannot send headers, so MG_CLIENTS_HOOKS_TOKEN does not apply here: the listener's address is the
 * trust boundary.
 */

/** The vhost rabbitmq_mqtt is configured with (`mqtt.vhost = /`). */
const VHOST = "/";
/** `mqtt.exchange = amq.topic` */
const EXCHANGE = "amq.topic";

const allow = () => textResponse("allow");
/**
 * The service principal may also be the management API's user (MG_CLIENTS_BROKER_API_URL), which
 * rabbitmq_management admits only with the administrator tag.
 */
const allowUser = (_id: string, principal: boolean) => textResponse(principal ? "allow administrator" : "allow");
const deny = () => textResponse("deny");

export function rabbitmqRoutes(ctx: DialectContext): HookRoute[] {
  const user = checkRecorder(ctx, "rabbitmq", "user");
  const vhost = checkRecorder(ctx, "rabbitmq", "vhost");
  const resource = checkRecorder(ctx, "rabbitmq", "resource");
  const topic = { write: checkRecorder(ctx, "rabbitmq", "publish"), read: checkRecorder(ctx, "rabbitmq", "subscribe") };

  return [
    {
      path: "/rabbitmq/user",
      get: true,
      fault: deny,
      // Certificate login (ssl_cert_login) sends the CN without a password: refused.
      handle: credentialsCheck(ctx, user, { dialect: "rabbitmq", clientIdField: "client_id", token: false, ok: allowUser, no: deny }),
    },
    {
      path: "/rabbitmq/vhost",
      get: true,
      fault: deny,
      handle(f) {
        const username = f && text(f, "username");
        if (!username) {
          vhost.refuse("malformed", { reason: "malformed call-out: no username" });
          return deny();
        }
        if (text(f, "vhost") !== VHOST) {
          vhost.refuse("deny", { reason: "unknown vhost", username });
          return deny();
        }
        vhost.allow();
        return allow();
      },
    },
    {
      path: "/rabbitmq/resource",
      get: true,
      fault: deny,
      handle(f) {
        const username = f && text(f, "username");
        if (!username) {
          resource.refuse("malformed", { reason: "malformed call-out: no username" });
          return deny();
        }
        if (!resourceAllowed(f)) {
          resource.refuse("deny", { reason: "resource not allowed", username, client_id: text(f, "client_id"), topic: text(f, "name") });
          return deny();
        }
        resource.allow();
        return allow();
      },
    },
    {
      path: "/rabbitmq/topic",
      get: true,
      fault: deny,
      handle(f) {
        const username = f && text(f, "username");
        const permission = f && text(f, "permission");
        const key = f && text(f, "routing_key");
        const check = permission === "write" || permission === "read" ? topic[permission] : undefined;
        if (!f || !username || !check || key === undefined) {
          (check ?? topic.write).refuse("malformed", { reason: "malformed call-out: username, permission (read/write) and routing_key are required" });
          return deny();
        }
        const mqttTopic = fromRoutingKey(key);
        if (text(f, "vhost") !== VHOST || text(f, "name") !== EXCHANGE) {
          check.refuse("deny", { reason: "resource not allowed", username, topic: mqttTopic });
          return deny();
        }
        const action = permission === "write" ? "publish" : "subscribe";
        return answerAuthz(ctx, check, { username, topic: mqttTopic, action, clientId: text(f, "variable_map.client_id") }, allow, deny);
      },
    },
  ];
}

/**
 * The exchange amq.topic may be read and written; a queue only when it is the MQTT subscription
 * queue of the connection's own client id (rabbitmq_mqtt names them mqtt-subscription-<id>qos0|1).
 */
function resourceAllowed(f: Fields): boolean {
  if (text(f, "vhost") !== VHOST) return false;
  const kind = text(f, "resource");
  const name = text(f, "name");
  const permission = text(f, "permission");
  if (kind === "exchange") return name === EXCHANGE && (permission === "read" || permission === "write");
  if (kind !== "queue" || (permission !== "configure" && permission !== "read" && permission !== "write")) return false;
  const clientId = text(f, "client_id") ?? text(f, "variable_map.client_id");
  return !!clientId && (name === `mqtt-subscription-${clientId}qos0` || name === `mqtt-subscription-${clientId}qos1`);
}
