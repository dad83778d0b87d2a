/** The documents behind the buddy list: contacts and groups, the presence list, the rules (xcap-diff AUIDs the list follows). */
import { AUID } from "../presence/namespaces";

export const ADDRESS_BOOK_AUIDS: readonly string[] = [AUID.resourceLists, AUID.rlsServices, AUID.presRules, AUID.ietfPresRules];

/** The documents behind My Presence: offline status, icon, the rules, the names in the address book, im-rules. */
export const MY_PRESENCE_AUIDS: readonly string[] = [AUID.pidfManipulation, AUID.presContent, AUID.presRules, AUID.ietfPresRules, AUID.resourceLists, AUID.imRules];
