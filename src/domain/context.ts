/** Who asked, for one request: the session plus the request id that events carry. */
export interface RequestContext {
  userId: string;
  domainId: string;
  superAdmin: boolean;
  tokenType: string;
  requestId: string;
}

/**
 * The context of a change made by an internal gRPC call (another service or an adapter, trusted
 * by the network): no user, a fresh request id, the domain of the rows it changes.
 */
export function systemContext(domainId: string): RequestContext {
  return { userId: "", domainId, superAdmin: false, tokenType: "", requestId: crypto.randomUUID() };
}
