/**
 * The one error type of the service. Services throw it with a code; each transport maps the code
 * once (src/http/errors.ts, src/grpc/errors.ts). Messages are the contract's exact texts.
 */
export type ErrorCode =
  | "UNAUTHENTICATED" // 401
  | "UNSUPPORTED_MEDIA_TYPE" // 415
  | "MALFORMED" // 400: body could not be decoded
  | "INVALID" // 400: request validation
  | "CONFLICT" // 400: the contract reports conflicts as 400, never 409
  | "FORBIDDEN" // 403
  | "NOT_FOUND" // 404
  | "TOO_LARGE" // 413: the request body is above MG_CLIENTS_HTTP_MAX_BODY
  | "UNPROCESSABLE" // 422
  | "INTERNAL" // 500
  | "STORAGE_FULL"; // 503: the disk (or the database) has no room for the write

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "AppError";
  }
}

export const Msg = {
  missingToken: "missing or invalid bearer user token",
  authnFailed: "failed to perform authentication over the entity",
  unsupportedContentType: "unsupported content type",
  malformedBody: "request body is not a valid JSON, expecting a valid JSON",
  invalidStatus: "invalid status",
  invalidId: "invalid id format provided",
  nameSize: "invalid name size",
  emptyList: "empty list provided",
  limitSize: "invalid limit size",
  order: "invalid list order provided",
  dir: "invalid list direction provided",
  queryParams: "invalid query parameters",
  missingSecret: "missing secret",
  missingParent: "missing parent group id",
  missingEntityId: "missing entity id",
  missingChannelId: "missing channel id",
  missingConnectionType: "missing connection type",
  routeFormat: "invalid route format",
  emptyRoleName: "empty role name",
  emptyRoleId: "empty role id",
  emptyRoleMembers: "empty role members",
  missingPolicyEntityType: "missing policy entity type",
  /** Not in the contract (the reference answers 500): a role action outside the available list (DESIGN decision 5). */
  invalidAction: "invalid action provided",
  badRequest: "something went wrong with the request",
  entityExists: "entity already exists",
  secretTaken: "client key is not available",
  channelIdTaken: "channel id already exists",
  routeTaken: "route not available",
  sameParent: "client already assigned to the parent group",
  otherParent: "client already have parent",
  authzFailed: "failed to perform authorization over the entity",
  adminOnly: "not authorized to perform admin action",
  notFound: "entity not found",
  statusAssigned: "status already assigned",
  createFailed: "failed to create entity",
  updateFailed: "update entity failed",
  removeFailed: "failed to remove entity",
  viewFailed: "view entity failed",
  addPolicies: "failed to add policies",
  removePolicies: "failed to remove policies",
  internal: "internal server error",
  /** Not in the contract: a bulk create above MAX_BULK (src/shared/limits.ts). */
  bulkTooLarge: "too many entities in one request (at most 10000)",
  /** Not in the contract: a connect or disconnect whose channels × clients × types is above MAX_CONNECTIONS. */
  connectionsTooMany: "too many connections in one request (channels × clients × types at most 10000)",
  /** Not in the contract: beyond MG_CLIENTS_HTTP_MAX_BODY (413). */
  bodyTooLarge: "request body too large",
  /** Not in the contract: a write the disk or the database has no room for (503); retry later. */
  storageFull: "storage full",
} as const;

export const invalid = (message: string) => new AppError("INVALID", message);
export const notFound = () => new AppError("NOT_FOUND", Msg.notFound);
export const conflict = (message: string) => new AppError("CONFLICT", message);
export const unprocessable = (message: string) => new AppError("UNPROCESSABLE", message);
