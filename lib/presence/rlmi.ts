/** RFC 4662 resource list meta-information (`application/rlmi+xml`). */
import type { Note } from "./presence-document";

export type InstanceState = "active" | "pending" | "terminated";

export interface RlmiInstance {
  id: string;
  state: InstanceState;
  /** For terminated instances (RFC 4662 §5.2): the Subscription-State reason. */
  reason?: string;
  /** Content-ID (without `<>`) of the body part carrying this instance's state. */
  cid?: string;
}

export interface RlmiResource {
  uri: string;
  names: Note[];
  instances: RlmiInstance[];
}

export interface RlmiList {
  uri: string;
  version: number;
  fullState: boolean;
  /** For a nested list: the Content-ID of the list's own multipart body. */
  cid?: string;
  names: Note[];
  resources: RlmiResource[];
}
