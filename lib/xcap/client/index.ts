/** XCAP client (RFC 4825): documents, node selectors, digest auth from HA1, conditional updates. */
export * from "./xcap-client";
export * from "./xcap-error";
export * from "./uri";
export { computeHa1, parseDigestChallenges, buildDigestAuthorization, type DigestChallenge, type DigestCredentials } from "./digest";
