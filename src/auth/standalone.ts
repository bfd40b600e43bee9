import { randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { join } from "node:path";
import { AppError, Msg } from "../errors/index.ts";
import type { Logger } from "../log/logger.ts";
import { readOrCreateSecretFile } from "./keyfile.ts";

const TOKEN_FILE = "standalone.token";
const ID_FILE = "standalone.id";

/** Who is calling, for one request and one domain (the path segment). */
export interface Session {
  userId: string;
  domainId: string;
  superAdmin: boolean;
  tokenType: "access token";
}

export interface Authenticator {
  readonly userId: string;
  /** Resolves an Authorization header value for a domain; throws 401 AppErrors. */
  authenticate(authorization: string | null, domainId: string): Session;
}

/**
 * DESIGN decision 1: one bearer token is a platform super-admin in every domain. It comes from
 * MG_CLIENTS_STANDALONE_TOKEN/_ID or, when unset, from files in the data directory that the first
 * start generates.
 */
export function createStandaloneAuth(opts: { dataDir: string; id?: string; token?: string; logger: Logger }): Authenticator {
  let userId = opts.id;
  if (!userId) {
    const r = readOrCreateSecretFile(join(opts.dataDir, ID_FILE), () => randomUUID());
    userId = r.value;
  }
  let token = opts.token;
  if (!token) {
    const path = join(opts.dataDir, TOKEN_FILE);
    const r = readOrCreateSecretFile(path, () => randomBytes(32).toString("base64url"));
    token = r.value;
    opts.logger.info(r.created ? "generated the standalone admin token" : "using the standalone admin token", { token_file: path });
  }
  const expected = Buffer.from(token);
  const expectedHeader = `Bearer ${token}`;
  const sessionUser = userId;
  /**
   * The header against `Bearer <token>`: the common case (an ASCII header of the right length) by
   * one pass over every character, no early exit and no allocation, as this runs on every request;
   * anything else by its UTF-8 bytes and timingSafeEqual, as before.
   */
  const sameHeader = (authorization: string): boolean => {
    if (authorization.length === expectedHeader.length) {
      let diff = 0;
      let high = 0;
      for (let i = 0; i < authorization.length; i++) {
        const c = authorization.charCodeAt(i);
        high |= c;
        diff |= c ^ expectedHeader.charCodeAt(i);
      }
      if (high < 0x80) return diff === 0;
    }
    const presented = Buffer.from(authorization.slice(7));
    return presented.length === expected.length && timingSafeEqual(presented, expected);
  };

  return {
    userId: sessionUser,
    authenticate(authorization, domainId) {
      if (authorization === null || !authorization.startsWith("Bearer ") || authorization.length === 7) throw new AppError("UNAUTHENTICATED", Msg.missingToken);
      // Constant time for a token of the right length; the length of the token is not a secret.
      if (!sameHeader(authorization)) throw new AppError("UNAUTHENTICATED", Msg.authnFailed);
      return { userId: sessionUser, domainId, superAdmin: true, tokenType: "access token" };
    },
  };
}
